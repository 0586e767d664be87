"""Test helpers that ship with the package (used by the suite and handy to integrators).

`deploy_protocol` (docs/testing.md) is the public in-process deploy API."""

from synthequity.testing.protocol import Protocol, deploy_protocol

__all__ = ["Protocol", "deploy_protocol"]
