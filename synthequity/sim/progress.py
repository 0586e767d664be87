"""Progress of a long replay: a rich progress bar with the ETA and the ticks per second on a
terminal; plain lines (every `every_s` seconds, and at the end) when the output is a log."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ReplayProgress(AbstractContextManager["ReplayProgress"]):
    """`with ReplayProgress(console, label) as p: Simulation(..., on_tick=p.on_tick)`."""

    def __init__(self, console: Console, label: str = "replaying", every_s: float = 30.0):
        self.console, self.label, self.every_s = console, label, every_s
        self.t0 = self.last = time.perf_counter()
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> ReplayProgress:
        self.t0 = self.last = time.perf_counter()
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("{task.description:<30}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task(self.label, total=None, rate="")
        return self

    def rate(self, done: int) -> float:
        return done / max(time.perf_counter() - self.t0, 1e-9)

    def on_tick(self, done: int, total: int, what: str) -> None:
        now = time.perf_counter()
        if self.bar is not None:
            self.bar.update(
                self.task,
                completed=done,
                total=total,
                description=what,
                rate=f"{self.rate(done):.1f} ticks/s",
            )
            return
        if now - self.last >= self.every_s or done == total or done == 1:
            self.last = now
            left = (total - done) / max(self.rate(done), 1e-9)
            self.console.print(
                f"  {done:>6,}/{total:,} ticks  {what}  {self.rate(done):.1f} ticks/s  "
                f"ETA {left / 60:.1f} min",
                highlight=False,
            )
            self.console.file.flush()  # a log file is block-buffered: show it now

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.__exit__(exc_type, exc, tb)
