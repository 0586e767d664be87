"""Test helpers that ship with the package (used by the suite and handy to integrators)."""
