"""What the state machines share: the chain backends (titanoboa directly, or Ape on anvil)
and the depth each hypothesis profile runs."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import boa
from ape.exceptions import ContractLogicError
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

OPEN, CLOSED, HALTED = 2, 1, 3
MAX_AGE = 120
DEPTH = {  # (examples, max steps per example, steps the run must reach) by profile
    "dev": (10, 30, 0),
    "ci": (
        125,
        60,
        5_000,
    ),  # ~49 steps an example: 5,000 with margin (boa starts at wall-clock time, so runs vary)
    "nightly": (4_000, 100, 200_000),
}


def depth() -> tuple[int, int, int]:
    return DEPTH[os.environ.get("HYPOTHESIS_PROFILE", "ci")]


def run_machine(
    base: type, backend: Any, stack: Any, actors: dict[str, Any], *, examples: int, steps: int
) -> type:
    """Bind the machine `base` to a chain, run it, print its depth and speed; returns the run's
    class (`steps` counted, `seen` where the machine counts outcomes)."""
    machine = type(
        base.__name__,
        (base,),
        {"backend": backend, "stack": stack, "actors": actors, "steps": 0, "seen": Counter()},
    )
    t0 = time.perf_counter()
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None),
    )
    elapsed = time.perf_counter() - t0
    print(
        f"\n{base.__name__}: {machine.steps} steps in {elapsed:.1f} s "
        f"({machine.steps / elapsed:.0f} steps/s); {dict(machine.seen)}"
    )
    return machine


class Backend:
    """How the machine talks to a chain: `send(contract, fn, *args, sender)` returns the
    result or raises `Reverted(reason)`; `now()`; `advance(seconds)`; `address(actor)`."""

    class Reverted(Exception):
        def __init__(self, reason: str):
            super().__init__(reason)
            self.reason = reason

    def send(self, contract: Any, fn: str, *args: Any, sender: Any) -> Any:
        raise NotImplementedError

    def now(self) -> int:
        raise NotImplementedError

    def advance(self, seconds: int) -> None:
        raise NotImplementedError

    def view_time(self) -> int:
        """block.timestamp seen by view calls."""
        return self.now()

    fees: tuple[int, ...] = (0, 100, 2_000)  # stability fees an example may run with

    def begin(self) -> None:
        """Start of an example (snapshot where the backend does not isolate examples)."""

    def end(self) -> None:
        """End of an example (revert to the snapshot)."""


class BoaBackend(Backend):
    def send(self, contract, fn, *args, sender):
        try:
            with boa.env.prank(sender):
                return getattr(contract, fn)(*args)
        except boa.BoaError as exc:
            raise Backend.Reverted(_reason(exc)) from None

    def now(self):
        return boa.env.evm.patch.timestamp

    def advance(self, seconds):
        boa.env.time_travel(seconds=seconds)


def _reason(exc) -> str:
    frame = exc.stack_trace.last_frame
    return getattr(frame, "pretty_vm_reason", None) or str(getattr(frame, "vm_error", exc))


class ApeBackend(Backend):
    """Every transaction is mined one second after the previous one, at a time the machine
    knows (`now()`); views read the last mined block (`view_time()`)."""

    fees = (0,)  # view calls see the last block, not the next: keep debt time-independent

    def __init__(self, chain):
        self.chain = chain
        self.t = chain.pending_timestamp + 1
        self._snapshot = None

    def send(self, contract, fn, *args, sender):
        self.chain.pending_timestamp = self.t
        try:
            receipt = getattr(contract, fn)(*args, sender=sender)
        except ContractLogicError as exc:
            raise Backend.Reverted(exc.revert_message) from None
        self.t = receipt.timestamp + 1
        return receipt.return_value

    def now(self):
        return self.t

    def view_time(self):
        return self.chain.blocks.head.timestamp

    def advance(self, seconds):
        self.t += seconds

    def begin(self):
        self._snapshot = self.chain.snapshot()
        self.t = self.chain.pending_timestamp + 1

    def end(self):
        self.chain.restore(self._snapshot)
