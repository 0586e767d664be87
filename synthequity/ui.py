"""Console output for people: rich tables that do not wrap into unreadable columns when the
output is a pipe or a CI log."""

from __future__ import annotations

import sys

from rich.console import Console


def make_console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 140, soft_wrap=False)
