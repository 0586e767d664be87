"""What every keeper process shares: stop on SIGINT/SIGTERM, retry with exponential backoff,
counters for the operator."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from synthequity.logs import event

T = TypeVar("T")
log = logging.getLogger("synthequity.keeper")


class StopFlag:
    """Set by SIGINT/SIGTERM; loops check it between jobs so that a job in flight finishes."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        event(log, "shutdown requested", signal=signal.Signals(signum).name)
        self._event.set()

    def set(self) -> None:
        self._event.set()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped first; True when the sleep was interrupted by a stop."""
        return self._event.wait(max(seconds, 0.0))


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth retrying: the RPC is down, slow or restarting — not a revert."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import requests

        errors.append(requests.exceptions.RequestException)
    except ImportError:  # pragma: no cover
        pass
    try:
        from ape.exceptions import ProviderNotConnectedError, RPCTimeoutError

        errors += [ProviderNotConnectedError, RPCTimeoutError]
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


# What a dead or restarting node looks like once Ape has wrapped it (e.g. `BlockNotFoundError:
# Missing latest block. Reason: ... Connection refused`): the original error is not always chained.
_DOWN = (
    "connection refused",
    "max retries exceeded",
    "failed to establish a new connection",
    "remote end closed connection",
    "connection aborted",
    "connection reset",
    "read timed out",
    "429",
    "too many requests",
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, anything it was raised from, or its message says the node is
    unreachable — never for a revert, which retrying cannot fix."""
    retryable = transient_errors()
    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain, bounded
        if seen is None:
            break
        if isinstance(seen, retryable):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return any(marker in text for marker in _DOWN)


def with_retries(
    fn: Callable[[], T],
    *,
    what: str,
    attempts: int = 6,
    base_delay_s: float = 0.5,
    max_delay_s: float = 30.0,
    on_retry: Callable[[], None] | None = None,
    stop: StopFlag | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fn`, retrying transient errors with exponential backoff (0.5, 1, 2, ... s)."""
    delay = base_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts or (stop is not None and stop.stopped):
                raise
            event(
                log,
                "rpc error, retrying",
                logging.WARNING,
                what=what,
                attempt=attempt,
                delay_s=delay,
                error=f"{type(exc).__name__}: {exc}",
            )
            (stop.sleep if stop is not None else sleep)(delay)
            if on_retry is not None:
                try:
                    on_retry()
                except Exception as down:  # still down: back off again
                    if not is_transient(down):
                        raise
            delay = min(delay * 2, max_delay_s)
    raise AssertionError("unreachable")  # pragma: no cover


class Metrics(Counter[str]):
    """Named counters a keeper reports in its logs and at exit (and on `/metrics`, see
    `keepers.metrics`), with the last value of a few gauges (the block seen, when the loop last
    ticked) and timings (count and total seconds, e.g. a price source's latency)."""

    def __init__(self, *args: Any, **kwargs: int) -> None:
        super().__init__(*args, **kwargs)
        self.gauges: dict[str, float] = {}
        self.timings: dict[str, tuple[int, float]] = {}

    def observe(self, name: str, seconds: float) -> None:
        count, total = self.timings.get(name, (0, 0.0))
        self.timings[name] = (count + 1, total + seconds)

    def as_fields(self) -> dict[str, int]:
        return dict(sorted(self.items()))
