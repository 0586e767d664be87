"""The replay's in-process backend: the same contracts (the bytecode `deploy_protocol` puts in
titanoboa), driven by the same simulation, keepers and agents as the anvil path, with no node
and no JSON-RPC — ~20x the ticks per second.

The chain is modelled on anvil's, so that a window replays to the same numbers on both
(tests/integration/test_sim_backends_anvil.py):
- one block per transaction (automine); a reverted `send` (a wallet's preflight estimate
  fails) mines nothing, a keeper's job that reverts on-chain mines a failed block;
- a block's time is the previous one's + 1 s (anvil with `anvil_setBlockTimestampInterval
  1`, which the Ape backend sets) unless the replay set the next block's time (`warp_to`);
- views (`eth_call` at `latest`) run at the head block's number and time.

Contracts are reached through their JSON ABIs (`BoaContract`): `handle.fn(*args)` is a view,
`BoaChain.send` a transaction; every transaction's logs are kept (by emitter and topic) for
the keepers' account index, the report's events and the reconciliation's Transfer ledger."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boa
from boa.vm.py_evm import Address
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple

from synthequity.constants import DEFAULT_INSURANCE_SEED_USD
from synthequity.contracts import base_price_wad
from synthequity.keepers.jobs import GasQuote, LogRef
from synthequity.keepers.oracle.logic import FeedState, Observation
from synthequity.keepers.oracle.runner import read_feed_state
from synthequity.keepers.perp.runner import MarketReads
from synthequity.keepers.shell import Call, Landed, Raced, Reverted
from synthequity.keepers.vault.runner import PoolJobs
from synthequity.model import perp as m
from synthequity.model import vault as v
from synthequity.model.oracle import quote_to_base_wad

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
GAS = 30_000_000
VIEWER = "0x000000000000000000000000000000000000dEaD"  # eth_call's sender: an account, no code


class Revert(Exception):
    """A transaction or view reverted; `reason` is the contract's revert string."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _types(params: list[dict[str, Any]]) -> list[str]:
    return [collapse_if_tuple(p) for p in params]


@dataclass(frozen=True)
class _Fn:
    selector: bytes
    inputs: list[str]
    outputs: list[str]


@dataclass(frozen=True)
class _Event:
    name: str
    indexed: list[tuple[str, str]]  # (name, type) in topic order
    data: list[tuple[str, str]]  # (name, type) in data order
    order: list[str]  # every field in declaration order


@dataclass(frozen=True)
class Log:
    """One decoded event, with where it sits in the chain (Ape's `ContractLog` fields)."""

    event: str
    address: str
    block_number: int
    transaction_index: int
    log_index: int
    transaction_hash: str
    args: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.args[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class RawLog:
    block: int
    log_index: int
    tx_hash: str
    topics: tuple[int, ...]
    data: bytes


class BoaContract:
    """A contract at `address` seen through its JSON ABI: `handle.fn(*args)` runs the view at
    the head (one output: the value; several: a tuple), as an Ape handle does."""

    def __init__(self, chain: BoaChain, address: Any, abi: list[dict[str, Any]], name: str):
        self.chain, self.name = chain, name
        self.address = to_checksum_address(str(address))
        self.canonical = bytes.fromhex(self.address[2:])
        self.functions: dict[str, list[_Fn]] = defaultdict(list)
        self.events: dict[int, _Event] = {}
        self.topics: dict[str, int] = {}
        for e in abi:
            if e["type"] == "function":
                ins = _types(e["inputs"])
                sig = f"{e['name']}({','.join(ins)})"
                self.functions[e["name"]].append(
                    _Fn(keccak(text=sig)[:4], ins, _types(e["outputs"]))
                )
            elif e["type"] == "event":
                sig = f"{e['name']}({','.join(_types(e['inputs']))})"
                topic = int.from_bytes(keccak(text=sig), "big")
                self.events[topic] = _Event(
                    e["name"],
                    [(i["name"], collapse_if_tuple(i)) for i in e["inputs"] if i["indexed"]],
                    [(i["name"], collapse_if_tuple(i)) for i in e["inputs"] if not i["indexed"]],
                    [i["name"] for i in e["inputs"]],
                )
                self.topics[e["name"]] = topic

    def fn(self, name: str, n_args: int) -> _Fn:
        for f in self.functions.get(name, ()):
            if len(f.inputs) == n_args:
                return f
        raise AttributeError(f"{self.name} has no function {name} with {n_args} arguments")

    def encode(self, name: str, args: tuple[Any, ...]) -> tuple[_Fn, bytes]:
        f = self.fn(name, len(args))
        return f, f.selector + encode(f.inputs, [_arg(a) for a in args])

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self.functions:
            raise AttributeError(name)

        def view(*args: Any) -> Any:
            out = self.chain.call(self, name, args)
            return out[0] if len(out) == 1 else out

        return view

    def decode_log(self, raw: RawLog) -> Log:
        ev = self.events[raw.topics[0]]
        args: dict[str, Any] = {}
        for (name, typ), topic in zip(ev.indexed, raw.topics[1:], strict=True):
            args[name] = _value(typ, decode([typ], topic.to_bytes(32, "big"))[0])
        values = decode([t for _, t in ev.data], raw.data)
        for (name, typ), value in zip(ev.data, values, strict=True):
            args[name] = _value(typ, value)
        return Log(ev.name, self.address, raw.block, 0, raw.log_index, raw.tx_hash, args)


def _arg(a: Any) -> Any:
    if hasattr(a, "address") and not isinstance(a, str | bytes):
        return str(a.address)
    if isinstance(a, list | tuple):
        return [_arg(x) for x in a]
    return a


def _value(typ: str, value: Any) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    return value


def revert_reason(output: bytes) -> str:
    """The revert string of `output` (Error(string)), else its hex."""
    if output[:4] == ERROR_SELECTOR:
        try:
            return str(decode(["string"], output[4:])[0])
        except Exception:  # a malformed reason: show the bytes
            pass
    return "0x" + output.hex() if output else "reverted"


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    output: bytes  # the return data, or the revert data
    logs: list[tuple[bytes, tuple[int, ...], bytes]]  # (emitter, topics, data) in order
    gas: int


class BoaChain:
    """titanoboa's EVM with anvil's block model (module docstring) and a log store."""

    def __init__(self, start_time: int | None = None):
        self.evm = boa.env.evm
        self.head = int(self.evm.patch.block_number)
        self.head_ts = int(start_time if start_time is not None else self.evm.patch.timestamp)
        self.evm.patch.timestamp = self.head_ts
        self.next_ts: int | None = None
        self.block_ts: dict[int, int] = {self.head: self.head_ts}
        self.contracts: dict[bytes, BoaContract] = {}
        # (emitter, topic0) -> logs in chain order; and their block numbers for bisect
        self.logs: dict[tuple[bytes, int], list[RawLog]] = defaultdict(list)
        self._log_blocks: dict[tuple[bytes, int], list[int]] = defaultdict(list)
        self.transactions = 0

    def contract(self, address: Any, abi: list[dict[str, Any]], name: str) -> BoaContract:
        handle = BoaContract(self, address, abi, name)
        self.contracts[handle.canonical] = handle
        return handle

    # ---- time -------------------------------------------------------------------------------
    def pending_time(self) -> int:
        return self.next_ts if self.next_ts is not None else self.head_ts + 1

    def warp_to(self, ts: int) -> None:
        """The next block's time (anvil's `evm_setNextBlockTimestamp`), when later than the
        head's."""
        if ts > self.head_ts:
            self.next_ts = ts

    # ---- execution --------------------------------------------------------------------------
    def _execute(self, handle: BoaContract, data: bytes, sender: Any, static: bool) -> Any:
        return boa.env.execute_code(
            to_address=handle.address,
            sender=Address(_arg(sender)),
            gas=GAS,
            data=data,
            is_modifying=not static,
        )

    def _run(self, handle: BoaContract, data: bytes, sender: Any, static: bool) -> _Outcome:
        c = self._execute(handle, data, sender, static)
        if c.is_error:
            return _Outcome(False, bytes(c.output), [], 0)
        logs = [
            (bytes(address), tuple(topics), bytes(payload))
            for _, address, topics, payload in sorted(c.get_raw_log_entries())
        ]
        return _Outcome(True, bytes(c.output), logs, int(c.get_gas_used()))

    def _trial(self, handle: BoaContract, data: bytes, sender: Any) -> _Outcome:
        """Run without keeping anything."""
        with boa.env.anchor():
            return self._run(handle, data, sender, static=False)

    def call(self, handle: BoaContract, fn: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """A view at the head; Revert with the reason when it reverts."""
        f, data = handle.encode(fn, args)
        out = self._run(handle, data, VIEWER, static=True)
        if not out.ok:
            raise Revert(revert_reason(out.output))
        return tuple(decode(f.outputs, out.output))

    def simulate(self, handle: BoaContract, fn: str, args: tuple[Any, ...], sender: Any) -> int:
        """Gas the call would use in the next block (nothing kept); Revert when it would
        revert (a keeper's `eth_estimateGas`)."""
        _, data = handle.encode(fn, args)
        self._at_pending()
        try:
            out = self._trial(handle, data, sender)
        finally:
            self._at_head()
        if not out.ok:
            raise Revert(revert_reason(out.output))
        return out.gas

    def send(
        self, handle: BoaContract, fn: str, args: tuple[Any, ...], sender: Any, mine_failed: bool
    ) -> tuple[int, str | None]:
        """A transaction in the next block: (its block, None), or (block, the revert reason).
        A revert mines nothing unless `mine_failed` (a raw transaction sent without a
        preflight: anvil mines it with status 0)."""
        _, data = handle.encode(fn, args)
        self._at_pending()
        out = self._run(handle, data, sender, static=False)
        if not out.ok:
            reason = revert_reason(out.output)
            if mine_failed:
                self._mined()
            else:
                self._at_head()
            return self.head, reason
        block = self._mined()
        tx = f"0x{block:064x}"
        for idx, (address, topics, payload) in enumerate(out.logs):
            key = (address, topics[0])
            self.logs[key].append(RawLog(block, idx, tx, topics, payload))
            self._log_blocks[key].append(block)
        return block, None

    def _set_block(self, number: int, timestamp: int) -> None:
        self.evm.patch.block_number = number
        self.evm.patch.timestamp = timestamp

    def _at_pending(self) -> None:
        self._set_block(self.head + 1, self.pending_time())

    def _at_head(self) -> None:
        self._set_block(self.head, self.head_ts)

    def _mined(self) -> int:
        self.head, self.head_ts = self.head + 1, self.pending_time()
        self.next_ts = None
        self.block_ts[self.head] = self.head_ts
        self.transactions += 1
        self._at_head()
        return self.head

    # ---- logs -------------------------------------------------------------------------------
    def raw_logs(
        self, handle: BoaContract, event: str, lo: int = 0, hi: int | None = None
    ) -> list[RawLog]:
        """`event`'s logs from `handle` in blocks lo..hi (inclusive)."""
        key = (handle.canonical, handle.topics[event])
        blocks = self._log_blocks.get(key)
        if not blocks:
            return []
        i = bisect.bisect_left(blocks, lo)
        j = len(blocks) if hi is None else bisect.bisect_right(blocks, hi)
        return self.logs[key][i:j]

    def events(
        self, handle: BoaContract, event: str, lo: int = 0, hi: int | None = None
    ) -> list[Log]:
        return [handle.decode_log(r) for r in self.raw_logs(handle, event, lo, hi)]


class RevmChain(BoaChain):
    """A `BoaChain` whose transactions and views run in revm (pyrevm, Rust) instead of py-evm:
    titanoboa deploys (`deploy_protocol`), then every account it created or touched — code,
    balance, nonce and every storage slot ever written (boa traces each SSTORE) — is copied
    into a revm instance that runs the rest. The same bytecode and the same block model;
    ~100x the opcodes per second."""

    def __init__(self, start_time: int | None = None):
        from pyrevm import EVM

        super().__init__(start_time)
        self.revm = EVM(spec_id="CANCUN")
        self.copied_accounts = self._copy_state()
        self._at_head()

    def _copy_state(self) -> int:
        from pyrevm import AccountInfo

        evm = boa.env.evm
        db = evm.vm.state._account_db
        traced = {Address(a).canonical_address: slots for a, slots in boa.env.sstore_trace.items()}
        todo = set(traced) | set(db._account_stores) | set(db._dirty_accounts)
        todo |= set(db._account_cache.keys())
        todo |= {Address(a).canonical_address for a in boa.env._contracts}
        done: set[bytes] = set()
        while todo:
            raw = todo.pop()
            done.add(raw)
            address = Address(raw)
            code = evm.get_code(address)
            hexa = to_checksum_address(raw)
            self.revm.insert_account_info(
                hexa, AccountInfo(nonce=evm.vm.state.get_nonce(raw), code=bytes(code))
            )
            balance = evm.get_balance(address)
            if balance:
                self.revm.set_balance(hexa, balance)
            for slot in traced.get(raw, ()):
                value = int.from_bytes(evm.get_storage_slot(address, slot), "big")
                if not value:
                    continue
                self.revm.insert_account_storage(hexa, slot, value)
                # an address kept in storage (a blueprint, an extension): copy it too
                k = value.to_bytes(32, "big")[-20:]
                if 2**120 < value < 2**160 and k not in done and evm.get_code(Address(k)):
                    todo.add(k)
        return len(done)

    def _set_block(self, number: int, timestamp: int) -> None:
        from pyrevm import BlockEnv

        self.revm.set_block_env(BlockEnv(number=number, timestamp=timestamp, basefee=0))

    def _run(self, handle: BoaContract, data: bytes, sender: Any, static: bool) -> _Outcome:
        try:
            output = self.revm.message_call(
                str(_arg(sender)), handle.address, data, gas=GAS, is_static=static
            )
        except RuntimeError as exc:  # "Revert { gas_used: N, output: 0x... }" or a Halt
            text = str(exc)
            hexa = text.split("output: 0x", 1)[1].split()[0] if "output: 0x" in text else ""
            return _Outcome(False, bytes.fromhex(hexa), [], 0)
        result = self.revm.result
        logs = [
            (
                bytes.fromhex(lg.address[2:]),
                tuple(int(t, 16) for t in lg.topics),
                bytes(lg.data[1]),
            )
            for lg in result.logs
        ]
        return _Outcome(True, bytes(output), logs, int(result.gas_used))

    def _trial(self, handle: BoaContract, data: bytes, sender: Any) -> _Outcome:
        checkpoint = self.revm.snapshot()
        try:
            return self._run(handle, data, sender, static=False)
        finally:
            self.revm.revert(checkpoint)


# ---- the keepers' chain I/O over BoaChain -------------------------------------------------------


class BoaFeedIO:
    """The oracle keeper's `FeedIO` (keepers.oracle.runner) over a `BoaChain`."""

    def __init__(self, chain: BoaChain, oracle: BoaContract, account: str):
        self.chain, self.oracle, self.account = chain, oracle, account

    def read(self) -> FeedState | None:
        return read_feed_state(self.oracle)

    def next_block_time(self) -> int:
        return self.chain.pending_time()

    def warp_to(self, ts: int) -> None:
        self.chain.warp_to(ts)

    def push(self, obs: Observation) -> Any:
        from ape.exceptions import ContractLogicError  # what the keeper catches (a race)

        block, reason = self.chain.send(
            self.oracle,
            "push_price",
            (obs.answer, obs.observed_at, int(obs.status)),
            self.account,
            mine_failed=False,
        )
        if reason is not None:
            raise ContractLogicError(reason)
        return _Receipt(0, f"0x{block:064x}")

    def staged_dividend(self) -> tuple[int, int, bool]:
        amount, activation, confirmed = self.oracle.staged_dividend()
        return int(amount), int(activation), bool(confirmed)

    def stage_dividend(self, amount: int, activation: int) -> Any:
        from ape.exceptions import ContractLogicError  # what the keeper catches

        block, reason = self.chain.send(
            self.oracle, "stage_dividend", (amount, activation), self.account, mine_failed=False
        )
        if reason is not None:
            raise ContractLogicError(reason)
        return _Receipt(0, f"0x{block:064x}")

    def reconnect(self) -> None:
        pass  # in-process: nothing to reconnect


@dataclass(frozen=True)
class _Receipt:
    gas_used: int
    txn_hash: str


class BoaChainIO:
    """The liquidation keepers' `ChainIO` (keepers.shell) over a `BoaChain`."""

    RACED: tuple[str, ...] = ()
    DISCOVERY = ""  # the event every position needs first

    def __init__(self, chain: BoaChain, contract: BoaContract, account: str):
        self.chain, self.contract, self.account = chain, contract, account

    def _target(self, fn: str) -> tuple[BoaContract, str]:
        """The contract and function a job's `fn` calls (this one's own, unless routed)."""
        return self.contract, fn

    def head(self) -> int:
        return self.chain.head

    def now(self) -> int:
        return self.chain.head_ts

    def logs(
        self, event: str, lo: int, hi: int, contract: BoaContract | None = None
    ) -> list[tuple[LogRef, str]]:
        """`event`'s logs of this I/O's contract (or `contract`), by the account they name."""
        return [
            (LogRef(lg.block_number, 0, lg.log_index), str(lg.account))
            for lg in self.chain.events(contract or self.contract, event, lo, hi)
        ]

    def account_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self.logs(self.DISCOVERY, lo, hi)

    def flags(self, accounts: list[str]) -> list[bool]:
        return list(self.contract.liquidatable(accounts))

    def call_many(
        self, fn: str, args: list[tuple[Any, ...]], contract: BoaContract | None = None
    ) -> list[Any]:
        return [self.chain.call(contract or self.contract, fn, a) for a in args]

    def _classify(self, reason: str) -> Exception:
        return Raced(reason) if any(r in reason for r in self.RACED) else Reverted(reason)

    def simulate_many(self, calls: list[Call]) -> list[int | Exception]:
        out: list[int | Exception] = []
        for fn, args in calls:
            try:
                out.append(self.chain.simulate(*self._target(fn), args, self.account))
            except Revert as exc:
                out.append(self._classify(exc.reason))
        return out

    def start_batch(self) -> None:
        pass

    def send_many(self, calls: list[Call], gas: list[int]) -> list[Any]:
        return [
            self.chain.send(*self._target(fn), args, self.account, mine_failed=True)
            for fn, args in calls
        ]

    def outcomes(self, calls: list[Call], handles: list[Any]) -> list[Any]:
        out: list[Any] = []
        for (fn, _), (block, reason) in zip(calls, handles, strict=True):
            if reason is None:
                out.append(Landed(block, f"0x{block:064x}"))
            else:
                raced = self._classify(reason)
                out.append(raced if isinstance(raced, Raced) else RuntimeError(f"{fn}: {reason}"))
        return out

    def quote(self, gas: int) -> GasQuote:
        return GasQuote(gas, 0, 0)  # the replay's keepers pay no gas (native_usd=0 on anvil)

    def reconnect(self) -> None:
        pass


class BoaMarketIO(MarketReads, BoaChainIO):
    """The perp keeper's `MarketIO` over a `BoaChain` (as `ApeMarketIO` reads it)."""

    RACED = ("not liquidatable", "no order", "orders: not triggered")
    DISCOVERY = "MarginDeposited"

    def __init__(self, chain: BoaChain, market: BoaContract, oracle: BoaContract, account: str):
        super().__init__(chain, market, account)
        self.market, self.oracle = market, oracle
        self._params: tuple[m.PerpParams, int] | None = None
        self._decimals = int(oracle.decimals())

    def order_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self.logs("OrderCommitted", lo, hi)

    def book_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self.logs("OrderPlaced", lo, hi, self.book)

    def rounds(self, ids: range) -> dict[int, m.OracleReading]:
        out = {}
        for i in ids:
            _, answer, _, updated_at, _ = self.oracle.getRoundData(i)
            status, multiplier_wad = self.oracle.round_state(i)
            price = quote_to_base_wad(answer, self._decimals, multiplier_wad)
            out[i] = m.OracleReading(price, updated_at, status, i)
        return out


class BoaVaultIO(PoolJobs, BoaChainIO):
    """The vault keeper's `VaultIO` over a `BoaChain` (as `ApeVaultIO` reads it)."""

    RACED = ("not liquidatable",)
    DISCOVERY = "Deposit"

    def __init__(
        self,
        chain: BoaChain,
        vault: BoaContract,
        oracle: BoaContract,
        synth: BoaContract,
        account: str,
        usd_per_unit: int,
    ):
        super().__init__(chain, vault, account)
        self.vault, self.oracle, self.synth = vault, oracle, synth
        self.usd_per_unit = usd_per_unit

    def price(self) -> int:
        return base_price_wad(self.oracle)

    def positions(self, accounts: list[str]) -> dict[str, tuple[int, int]]:
        rows = self.call_many("position", [(a,) for a in accounts])
        return {a: (int(r[0]), int(r[1])) for a, r in zip(accounts, rows, strict=True)}

    def inventory(self) -> int:
        return int(self.synth.balanceOf(self.account))

    def params(self) -> v.VaultParams:
        return v.VaultParams(*self.vault.risk_params())


# ---- the simulation's backend ------------------------------------------------------------------

MNEMONIC = "test test test test test test test test test test test junk"  # Ape's test accounts


def test_addresses(first: int, n: int) -> list[str]:
    """The addresses Ape's `generate_test_account` hands out from index `first` (10 in a
    fresh `ape run`): a boa replay's agents are the same accounts as an anvil replay's."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return [
        Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").address
        for i in range(first, first + n)
    ]


class BoaSimChain:
    """`synthequity.sim.chain.SimChain` over a `BoaChain`."""

    name = "boa"

    def __init__(self, chain: BoaChain, addresses: list[str] | None = None):
        self.chain = chain
        self._addresses = list(addresses or [])
        self._stack: Any = None

    def bind(self, stack: Any) -> None:
        self._stack = stack

    def feed_io(self, oracle: Any, account: Any) -> Any:
        return BoaFeedIO(self.chain, oracle, account)

    def market_io(self, market: Any, account: Any) -> Any:
        return BoaMarketIO(self.chain, market, self._stack.oracle, account)

    def vault_io(self, vault: Any, account: Any) -> Any:
        s = self._stack
        return BoaVaultIO(self.chain, vault, s.oracle, s.synth, account, s.usd_per_unit)

    def start(self) -> None:
        pass  # the block model is anvil's with a 1 s interval from the start

    def head(self) -> tuple[int, int]:
        return self.chain.head, self.chain.head_ts

    def block_time(self, block: int) -> int:
        return self.chain.block_ts[block]

    def read_many(self, calls: list[tuple[Any, str, tuple[Any, ...]]]) -> list[Any]:
        return [self.chain.call(c, fn, args) for c, fn, args in calls]

    def send(self, contract: Any, fn: str, args: tuple[Any, ...], sender: Any) -> str | None:
        return self.chain.send(contract, fn, args, sender, mine_failed=False)[1]

    def events(self, contract: Any, event: str, lo: int, hi: int) -> list[Any]:
        return self.chain.events(contract, event, lo, hi)

    def transfers(self, token: Any) -> list[tuple[int, str, str, int]]:
        out = []
        for r in self.chain.raw_logs(token, "Transfer"):
            src = to_checksum_address(r.topics[1].to_bytes(32, "big")[-20:])
            dst = to_checksum_address(r.topics[2].to_bytes(32, "big")[-20:])
            out.append((r.block, src, dst, int.from_bytes(r.data, "big")))
        return out

    def indexed_accounts(self, contract: Any, event: str) -> set[str]:
        return {
            to_checksum_address(r.topics[1].to_bytes(32, "big")[-20:])
            for r in self.chain.raw_logs(contract, event)
        }

    def new_accounts(self, n: int) -> list[Any]:
        if len(self._addresses) < n:
            self._addresses += test_addresses(10 + len(self._addresses), n - len(self._addresses))
        out, self._addresses = self._addresses[:n], self._addresses[n:]
        return out

    def address(self, account: Any) -> str:
        return str(account)


def deploy_stack(
    start_time: int,
    addresses: list[str] | None = None,
    engine: str = "revm",
    insurance_seed_usd: int = DEFAULT_INSURANCE_SEED_USD,
    **protocol: Any,
) -> tuple[BoaSimChain, Any]:
    """The protocol for one equity deployed in titanoboa (`synthequity.testing.deploy_protocol`,
    the defaults `ape run deploy` uses), seen through a `BoaSimChain` whose clock starts at
    `start_time` and whose transactions run in `engine` ("revm": copied into revm; "pyevm":
    titanoboa's own EVM); and the simulation's `Stack` over it. `protocol`: deploy_protocol's
    keyword arguments (vault_params, perp_params, max_jump_bps: a sweep's parameter set).
    The insurance fund is seeded with `insurance_seed_usd` at deployment, as `ape run deploy`
    seeds it, so neither backend's replay shows the seed as a flow."""
    from synthequity.contracts import merge_abis
    from synthequity.sim.run import Stack
    from synthequity.testing import deploy_protocol
    from synthequity.testing.boa_stack import _abi

    boa.env.evm.patch.timestamp = start_time  # the contracts' clocks start with the chain's
    p = deploy_protocol(decimals=6, **protocol)
    confirmer = str(boa.env.generate_address("confirmer"))
    chain = RevmChain(start_time) if engine == "revm" else BoaChain(start_time)
    abi = {
        "perp": merge_abis(_abi("perp"), _abi("perp_ext")),
        "vault": merge_abis(_abi("vault"), _abi("vault_ext")),
    }

    def handle(name: str, address: Any) -> BoaContract:
        return chain.contract(address, abi.get(name) or _abi(name), name)

    collateral = handle("stablecoin", p.collateral.address)
    if insurance_seed_usd:  # on the chain the replay reads (its Transfer logs reconcile it)
        seed = (p.insurance.address, p.units(insurance_seed_usd))
        _, reason = chain.send(collateral, "faucet", seed, p.admin, mine_failed=False)
        if reason is not None:
            raise RuntimeError(f"the insurance fund's seed reverted: {reason}")
    stack = Stack(
        collateral=collateral,
        oracle=handle("oracle", p.oracle.address),
        vault=handle("vault", p.vault.address),
        synth=handle("synth", p.synth.address),
        market=handle("perp", p.market.address),
        pool=handle("pool", p.pool.address),
        insurance=handle("insurance", p.insurance.address),
        admin=str(p.admin),
        reporter=str(p.reporter),
        keeper=str(p.keeper),
        start_block=chain.head,
        usd_per_unit=p.usd_per_unit,
        confirmer=confirmer,
        stability_pool=handle("stability_pool", p.stability_pool.address),
        orders=handle("perp_orders", p.orders.address),
    )
    sim_chain = BoaSimChain(chain, addresses)
    sim_chain.name = engine
    sim_chain.bind(stack)
    return sim_chain, stack
