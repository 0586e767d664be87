"""What the state machines share: the chain backends (titanoboa directly, or Ape on anvil), the
depth each hypothesis profile runs, the outcome statistics, and the throughput report."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import boa
from ape.exceptions import ContractLogicError
from eth_utils import keccak, to_canonical_address
from hypothesis import event, settings
from hypothesis.stateful import run_state_machine_as_test

OPEN, CLOSED, HALTED = 2, 1, 3
MAX_AGE = 120
DEPTH = {  # (examples, max steps per example, steps the run must reach) by profile
    "dev": (10, 30, 0),
    # ~49 steps an example: 5,000 with margin (runs vary with what ran before: `pin_clock`)
    "ci": (125, 60, 5_000),
    "nightly": (4_000, 100, 200_000),
}


def depth() -> tuple[int, int, int]:
    return DEPTH[os.environ.get("HYPOTHESIS_PROFILE", "ci")]


# Monday 2026-01-05 15:00 UTC: the machines' contracts are deployed at this instant
MACHINE_EPOCH = 1_767_625_200


def pin_clock(name: str) -> None:
    """Before a machine's stack deploys: titanoboa's clock at `MACHINE_EPOCH` and its address
    generator seeded by `name` (one per stack). boa starts at wall-clock time, earlier tests
    in the process move it and draw addresses from the same generator, and the contracts
    read time modulo hours and days (the stability pool's join windows, day-long locks)
    while addresses order lists and fills: pinned, a derandomized run no longer depends on
    the time of day or on those draws. The perp machine's paths still vary between runs
    (measured at one commit: 3,052 steps per variant in the lane's order here, 3,156 on
    CI; at an earlier one, 3,124 alone and 3,322 after `tests/property`; cause not found),
    so what a machine must cover comes from rules that take those paths on purpose, never
    from lucky draws (docs/testing.md)."""
    boa.env.evm.patch.timestamp = MACHINE_EPOCH
    boa.env.evm.patch.block_number = 1_000_000
    boa.env.set_random_seed(f"synthequity machine {name}")


def run_machine(
    base: type,
    backend: Any,
    stack: Any,
    actors: dict[str, Any],
    *,
    examples: int,
    steps: int,
    report: Callable[[str], None] = print,
) -> type:
    """Bind the machine `base` to a chain, run it, report its depth, speed and outcomes
    (`report`: a printer that reaches the terminal under pytest's capture); returns the
    run's class (`steps` counted once per executed rule, `seen` the outcomes)."""
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
    outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(machine.seen.items()))
    report(
        f"\n{base.__name__}: {machine.steps} steps in {elapsed:.1f} s "
        f"({machine.steps / elapsed:.0f} steps/s); {outcomes}"
    )
    return machine


def note(machine: Any, label: str) -> None:
    """One outcome: a hypothesis statistic (`--hypothesis-show-statistics`) and a count the
    test can assert on (`machine.seen`)."""
    event(label)
    type(machine).seen[label] += 1


class Backend:
    """How the machine talks to a chain: `send(contract, fn, *args, sender)` returns the
    result or raises `Reverted(reason)`; `events(contract)` the last transaction's events
    from `contract` as (name, arguments); `now()`; `advance(seconds)`; `storage()` a raw
    storage reader (slot -> word) where the chain has a cheap one, else None."""

    class Reverted(Exception):
        def __init__(self, reason: str):
            super().__init__(reason)
            self.reason = reason

    sent = 0  # transactions sent: read caches key on it

    def send(self, contract: Any, fn: str, *args: Any, sender: Any) -> Any:
        raise NotImplementedError

    def events(self, contract: Any) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError

    def now(self) -> int:
        raise NotImplementedError

    def advance(self, seconds: int) -> None:
        raise NotImplementedError

    def view_time(self) -> int:
        """block.timestamp seen by view calls."""
        return self.now()

    def storage(self, contract: Any) -> Callable[[int], int] | None:
        return None

    fees: tuple[int, ...] = (0, 100, 2_000)  # stability fees an example may run with

    def begin(self) -> None:
        """Start of an example (snapshot where the backend does not isolate examples)."""

    def end(self) -> None:
        """End of an example (revert to the snapshot)."""


class BoaBackend(Backend):
    def __init__(self) -> None:
        self._last: Any = None
        self._anchor: Any = None

    def send(self, contract, fn, *args, sender):
        self.sent += 1
        call = getattr(contract, fn)
        # the handle that made the call keeps its logs: for a function of a deployable's
        # extension (`contract_at`), the extension's interface at the deployable's address
        self._last = getattr(call, "contract", None) or contract
        try:
            with boa.env.prank(sender):
                return call(*args)
        except boa.BoaError as exc:
            raise Backend.Reverted(_reason(exc)) from None

    def events(self, contract):
        out = []
        for log in self._last.get_logs(strict=False):
            if hasattr(log, "_asdict") and log.address == contract.address:
                args = log._asdict()
                args.pop("address")
                out.append((type(log).__name__, args))
        return out

    def now(self):
        return boa.env.evm.patch.timestamp

    def advance(self, seconds):
        boa.env.time_travel(seconds=seconds)

    def storage(self, contract):
        canonical = to_canonical_address(str(contract.address))
        evm = boa.env.evm
        return lambda slot: evm.vm.state.get_storage(canonical, slot)  # ~2 µs, no EVM run

    def begin(self):
        """Each example starts from the deployed state and leaves nothing behind (the
        module's fixture deploys once)."""
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()

    def end(self):
        if self._anchor is not None:
            self._anchor.__exit__(None, None, None)
            self._anchor = None


def hashmap_slot(slot: int, key: str | bytes) -> int:
    """Where Vyper keeps `HashMap[address, ...]` at `slot` for `key`: keccak(slot . key)."""
    key_bytes = to_canonical_address(key) if isinstance(key, str) else key
    return int.from_bytes(keccak(slot.to_bytes(32, "big") + key_bytes.rjust(32, b"\0")), "big")


def find_slot(layout: dict[str, Any], name: str) -> int | None:
    """The slot of the storage variable `name` anywhere in a compiler storage layout (the
    module nesting may change; the names this harness reads are checked against the views)."""
    for key, value in layout.items():
        if key == name and isinstance(value, dict) and "slot" in value:
            return int(value["slot"])
        if isinstance(value, dict) and "slot" not in value:
            found = find_slot(value, name)
            if found is not None:
                return found
    return None


def _reason(exc) -> str:
    """The innermost Vyper frame's revert reason (a call through an ABI-only handle, such as a
    deployable's extension functions, ends its trace with the raw revert data)."""
    for frame in reversed(exc.stack_trace):
        reason = getattr(frame, "pretty_vm_reason", None)
        if reason:
            return str(reason)
    frame = exc.stack_trace.last_frame
    return str(getattr(frame, "vm_error", exc))


class ApeBackend(Backend):
    """Every transaction is mined one second after the previous one, at a time the machine
    knows (`now()`); views read the last mined block (`view_time()`)."""

    fees = (0,)  # view calls see the last block, not the next: keep debt time-independent

    def __init__(self, chain):
        self.chain = chain
        self.t = chain.pending_timestamp + 1
        self._snapshot = None
        self._receipt: Any = None

    def send(self, contract, fn, *args, sender):
        self.sent += 1
        self.chain.pending_timestamp = self.t
        self._receipt = None
        try:
            receipt = getattr(contract, fn)(*args, sender=sender)
        except ContractLogicError as exc:
            raise Backend.Reverted(exc.revert_message) from None
        self._receipt = receipt
        self.t = receipt.timestamp + 1
        return receipt.return_value

    def events(self, contract):
        if self._receipt is None:
            return []
        return [
            (log.event_name, dict(log.event_arguments))
            for log in self._receipt.events
            if log.contract_address == contract.address
        ]

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
