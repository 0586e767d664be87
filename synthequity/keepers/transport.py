"""The chain transport of the liquidation keepers: `ApeChainIO` implements the loop's
`ChainIO` (`keepers.shell`) over an Ape contract and a signing account — reads, log pages,
and the JSON-RPC batches a block's jobs go out in (`eth_estimateGas`, locally signed
`eth_sendRawTransaction`, receipts polled in batches). The perp and vault transports
(`keepers.perp.runner.ApeMarketIO`, `keepers.vault.runner.ApeVaultIO`) add their reads.

Hosted RPC providers limit batches (many refuse more than 20-100 calls in one, some refuse
to batch `eth_sendRawTransaction` at all) and rate-limit (HTTP 429). `RpcBatcher` sends each
kind of batch (reads, simulations, sends, receipts) at its configured size (`BatchLimits`,
per network); a refused batch is split in halves down to one call at a time, and the size
that worked is kept for the rest of the process (never the refused size again every block).
A 429, a 5xx or a dropped connection is retried with backoff with the same requests: a send
retried after the node did accept it is the same signed transaction (same nonce, same
hash), never a second job. Many positions are read through Multicall3 (`aggregate3`, one
`eth_call` for up to `BatchLimits.multicall` views) where the network has it deployed."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_hex

from synthequity.keepers.common import HTTP_429, Metrics
from synthequity.keepers.jobs import GasQuote, LogRef
from synthequity.keepers.shell import Call, Landed, Raced, Reverted
from synthequity.logs import event

log = logging.getLogger("synthequity.keeper.rpc")

# Multicall3: the same address on every chain that has it (https://www.multicall3.com)
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
AGGREGATE3 = keccak(text="aggregate3((address,bool,bytes)[])")[:4]


@dataclass(frozen=True)
class BatchLimits:
    """Calls per JSON-RPC batch, per kind; 1 sends one call at a time (no batch at all)."""

    reads: int = 20  # eth_call (each may be a Multicall3 aggregate3)
    simulations: int = 20  # eth_estimateGas
    sends: int = 1  # eth_sendRawTransaction: several providers refuse to batch it
    receipts: int = 20  # eth_getTransactionReceipt
    multicall: int = 100  # views per Multicall3 aggregate3 call; 0: never use Multicall3

    def __post_init__(self) -> None:
        for kind in ("reads", "simulations", "sends", "receipts"):
            if not 1 <= getattr(self, kind) <= 1_000:
                raise ValueError(f"batch size {kind} must be within 1..1000")
        if not 0 <= self.multicall <= 1_000:
            raise ValueError("multicall must be within 0..1000")


# Within what hosted providers publish (batches of 20-100 calls, sends one at a time) ...
HOSTED = BatchLimits()
# ... and a local node (anvil), which takes anything: the bench's throughput.
LOCAL = BatchLimits(reads=250, simulations=100, sends=100, receipts=250, multicall=250)


class BatchRefused(Exception):
    """The node refused a batch of this size (not the calls in it)."""


class RpcHttpError(Exception):
    """A non-200 HTTP answer."""

    def __init__(self, status: int, text: str, retry_after_s: float | None = None):
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status, self.retry_after_s = status, retry_after_s


# What a provider says when the batch, not the call, is the problem.
_REFUSED = ("batch", "request entity too large")


def _refusal(message: str) -> bool:
    text = message.lower()
    return any(marker in text for marker in _REFUSED)


def _rate_limited(message: str) -> bool:
    text = message.lower()
    return "rate limit" in text or "too many requests" in text or HTTP_429.search(text) is not None


def http_post(url: str, timeout_s: float = 30.0) -> Callable[[Any], Any]:
    """A JSON-RPC poster over one kept-alive HTTP session."""
    import requests

    session = requests.Session()

    def post(payload: Any) -> Any:
        r = session.post(url, json=payload, timeout=timeout_s)
        if r.status_code != 200:
            retry = r.headers.get("Retry-After")
            raise RpcHttpError(
                r.status_code, r.text, float(retry) if retry and retry.isdigit() else None
            )
        try:
            return r.json()
        except ValueError as exc:
            raise RpcHttpError(r.status_code, f"not JSON: {r.text[:80]}") from exc

    return post


class RpcBatcher:
    """JSON-RPC requests of one kind in batches of the size the node accepts (see the
    module's docstring): answers in request order, each with its own `result` or `error`."""

    def __init__(
        self,
        post: Callable[[Any], Any],
        limits: BatchLimits,
        metrics: Metrics | None = None,
        attempts: int = 6,
        base_delay_s: float = 0.25,
        max_delay_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.post, self.limits = post, limits
        self.metrics = metrics if metrics is not None else Metrics()
        self.size = {k: getattr(limits, k) for k in ("reads", "simulations", "sends", "receipts")}
        self.attempts, self.base_delay_s, self.max_delay_s = attempts, base_delay_s, max_delay_s
        self.sleep = sleep
        self._ids = itertools.count(1)

    def run(self, kind: str, requests: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        i = 0
        while i < len(requests):
            part = requests[i : i + self.size[kind]]
            try:
                out += self._attempt(part)
            except BatchRefused as exc:
                if len(part) == 1:  # one call cannot be split: never re-send it in a loop
                    raise ConnectionError(f"rpc {part[0][0]}: {exc}") from None
                smaller = max(1, len(part) // 2)
                self.size[kind] = smaller  # kept: the next block starts at the size that works
                self.metrics["rpc batches refused"] += 1
                event(
                    log,
                    "rpc batch refused",
                    logging.WARNING,
                    kind=kind,
                    method=part[0][0],
                    size=len(part),
                    next_size=smaller,
                    reason=str(exc),
                )
                continue
            i += len(part)
        return out

    def _attempt(self, part: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """One batch (a single request when `part` has one call), retried on a 429, a 5xx or
        a dropped connection with the same requests; BatchRefused when the size is refused."""
        import requests

        calls = [
            {"jsonrpc": "2.0", "id": next(self._ids), "method": m, "params": p} for m, p in part
        ]
        payload: Any = calls if len(calls) > 1 else calls[0]
        delay = self.base_delay_s
        for attempt in range(1, self.attempts + 1):
            why: str
            wait = delay
            try:
                body = self.post(payload)
                return self._answers(calls, body)
            except RpcHttpError as exc:
                if exc.status in (400, 413) and len(calls) > 1:
                    raise BatchRefused(str(exc)) from None
                if exc.status != 429 and exc.status < 500:
                    raise ConnectionError(f"rpc {part[0][0]}: {exc}") from None
                why = "rate limited" if exc.status == 429 else "server error"
                wait = max(delay, exc.retry_after_s or 0.0)
            except _RateLimited as exc:
                why = f"rate limited: {exc}"
            except (requests.exceptions.RequestException, ConnectionError, TimeoutError) as exc:
                why = f"connection: {type(exc).__name__}"
            self.metrics["rpc errors"] += 1
            if attempt == self.attempts:
                raise ConnectionError(f"rpc {part[0][0]} x{len(part)}: {why}, gave up")
            event(
                log,
                "rpc error, retrying",
                logging.WARNING,
                method=part[0][0],
                calls=len(part),
                attempt=attempt,
                delay_s=round(wait, 3),
                error=why,
            )
            self.sleep(min(wait, self.max_delay_s))
            delay = min(delay * 2, self.max_delay_s)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _answers(calls: list[dict[str, Any]], body: Any) -> list[dict[str, Any]]:
        if isinstance(body, dict) and len(calls) > 1:  # one error for the whole batch
            message = str(body.get("error", body))
            if _rate_limited(message):
                raise _RateLimited(message)
            raise BatchRefused(message)
        answers = body if isinstance(body, list) else [body]
        if len(calls) == 1 and len(answers) == 1 and isinstance(answers[0], dict):
            if _rate_limited(str(answers[0].get("error", ""))):
                raise _RateLimited(str(answers[0]["error"]))
            return answers  # the call's own answer, whatever its id (some errors carry null)
        errors = [str(a.get("error", "")) for a in answers if isinstance(a, dict)]
        if len(calls) > 1 and errors and all(e and _refusal(e) for e in errors):
            raise BatchRefused(errors[0])
        if answers and all(e and _rate_limited(e) for e in errors):
            raise _RateLimited(errors[0])
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        if len(by_id) != len(calls) or any(c["id"] not in by_id for c in calls):
            raise BatchRefused(f"no answer: {len(answers)} answers for {len(calls)} calls")
        return [by_id[c["id"]] for c in calls]  # providers may answer out of order


class _RateLimited(Exception):
    """A JSON-RPC error (not an HTTP status) saying the rate limit is hit."""


class ApeChainIO:
    """`ChainIO` over an Ape contract and a signing account: the calls every keeper makes."""

    RACED: tuple[str, ...] = ()  # revert reasons that mean "someone else did it first"

    def __init__(
        self,
        contract: Any,
        account: Any,
        native_usd: int = 3_000 * 10**18,
        limits: BatchLimits | None = None,
        metrics: Metrics | None = None,
        rpc_url: str | None = None,
    ):
        from ape import chain

        self.contract, self.account, self.chain = contract, account, chain
        self.native_usd = native_usd
        self._nonce = 0
        self._fee = (0, 0)  # base fee and tip of the last quote, wei per gas
        self._chain: int | None = None
        self._multicall: bool | None = None  # deployed on this network (read once)
        self.metrics = metrics if metrics is not None else Metrics()
        if limits is None:
            limits = LOCAL if chain.provider.network.name == "local" else HOSTED
        url = rpc_url or getattr(chain.provider.web3.provider, "endpoint_uri", None)
        self.rpc = RpcBatcher(http_post(str(url or chain.provider.uri)), limits, self.metrics)

    def share_metrics(self, metrics: Metrics) -> None:
        """Count into the keeper's counters (`ChainKeeper` calls this)."""
        self.metrics = self.rpc.metrics = metrics

    def head(self) -> int:
        return int(self.chain.blocks.head.number)

    def now(self) -> int:
        return int(self.chain.blocks.head.timestamp)

    def logs(self, ev: Any, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return [
            (LogRef(lg.block_number, lg.transaction_index or 0, lg.log_index), str(lg.account))
            for lg in ev.range(lo, hi + 1)
        ]

    def flags(self, accounts: list[str]) -> list[bool]:
        return list(self.contract.liquidatable(accounts))

    def call_many(self, fn: str, args: list[tuple[Any, ...]], contract: Any = None) -> list[Any]:
        """One view of this contract (or `contract`) for many argument tuples."""
        return self.read([(contract or self.contract, fn, a) for a in args])

    # ---- reads ----------------------------------------------------------------------------
    def has_multicall(self) -> bool:
        """Multicall3 is deployed at its usual address on this network (read once)."""
        if self.limits.multicall == 0:
            return False
        if self._multicall is None:
            [answer] = self.rpc.run("reads", [("eth_getCode", [MULTICALL3, "latest"])])
            code = str(answer.get("result") or "0x")
            self._multicall = len(code) > 2
            event(log, "multicall3", deployed=self._multicall, address=MULTICALL3)
        return self._multicall

    @property
    def limits(self) -> BatchLimits:
        return self.rpc.limits

    def read(self, calls: list[tuple[Any, str, tuple[Any, ...]]]) -> list[Any]:
        """Many views (contract, function, arguments), each decoded to its output tuple:
        through Multicall3 (`BatchLimits.multicall` views per `eth_call`) where the network
        has it, else one `eth_call` per view; either way in JSON-RPC batches of `reads`."""
        from eth_abi import decode, encode

        if not calls:
            return []
        encoded = [
            (str(c.address), bytes(getattr(c, fn).encode_input(*args))) for c, fn, args in calls
        ]
        raw: list[bytes] = []
        if self.has_multicall():
            size = self.limits.multicall
            groups = [encoded[i : i + size] for i in range(0, len(encoded), size)]
            requests = [
                (
                    "eth_call",
                    [
                        {
                            "to": MULTICALL3,
                            "data": to_hex(
                                AGGREGATE3
                                + encode(
                                    ["(address,bool,bytes)[]"], [[(a, False, d) for a, d in g]]
                                )
                            ),
                        },
                        "latest",
                    ],
                )
                for g in groups
            ]
            for answer in self.rpc.run("reads", requests):
                (rows,) = decode(["(bool,bytes)[]"], bytes.fromhex(self._result(answer)[2:]))
                raw += [bytes(data) for _, data in rows]
        else:
            requests = [("eth_call", [{"to": a, "data": to_hex(d)}, "latest"]) for a, d in encoded]
            raw = [bytes.fromhex(self._result(a)[2:]) for a in self.rpc.run("reads", requests)]
        out = []
        for (c, fn, _), data in zip(calls, raw, strict=True):
            types = [o.canonical_type for o in getattr(c, fn).abis[0].outputs]
            out.append(decode(types, data))
        return out

    @staticmethod
    def _result(answer: dict[str, Any]) -> str:
        if "error" in answer:
            raise RuntimeError(f"eth_call reverted: {answer['error']}")
        return str(answer["result"])

    # ---- jobs -----------------------------------------------------------------------------
    def _target(self, fn: str) -> tuple[Any, str]:
        """The contract and function a job's `fn` calls (this one's own, unless a keeper's
        I/O routes it: the vault's stability pool, the perp market's order book)."""
        return self.contract, fn

    def _tx_fields(self, fn: str, args: tuple[Any, ...]) -> dict[str, str]:
        contract, method = self._target(fn)
        data = getattr(contract, method).encode_input(*args)
        return {"from": self.account.address, "to": contract.address, "data": to_hex(data)}

    def simulate_many(self, calls: list[Call]) -> list[int | Exception]:
        """`eth_estimateGas` for every call: its gas, or Raced when the revert says someone
        else did it first, or Reverted with the reason."""
        answers = self.rpc.run(
            "simulations",
            [("eth_estimateGas", [self._tx_fields(fn, args), "latest"]) for fn, args in calls],
        )
        out: list[int | Exception] = []
        for answer in answers:
            if "error" not in answer:
                out.append(int(answer["result"], 16))
                continue
            reason = str(answer["error"].get("message", answer["error"]))
            out.append(Raced(reason) if any(r in reason for r in self.RACED) else Reverted(reason))
        return out

    def start_batch(self) -> None:
        """Nonces for this block's jobs count up from the chain's pending count (read afresh
        for every batch: a failed or replaced transaction never leaves a stale nonce)."""
        self._nonce = self.chain.provider.web3.eth.get_transaction_count(
            self.account.address, "pending"
        )

    def send_many(self, calls: list[Call], gas: list[int]) -> list[Any]:
        """Sign each call (EIP-1559 at twice the base fee plus the tip, 30% over its
        estimated gas) and send them (in batches of `sends`); the hash, or the node's error.
        A send retried after a dropped connection is the same signed transaction: the node
        answers "already known" or "nonce too low" when it took the first, and the hash
        (computed here) is kept once the node shows it has the transaction."""
        ecosystem = self.chain.provider.network.ecosystem
        base, tip = self._fee
        raw: list[str] = []
        for (fn, args), units in zip(calls, gas, strict=True):
            fields = self._tx_fields(fn, args)
            tx = ecosystem.create_transaction(
                chain_id=self._chain_id(),
                sender=fields["from"],
                receiver=fields["to"],
                data=fields["data"],
                value=0,
                nonce=self._nonce,
                gas_limit=units * 13 // 10,
                max_fee=2 * base + tip,
                max_priority_fee=tip,
                type=2,
            )
            signed = self.account.sign_transaction(tx)
            raw.append(to_hex(signed.serialize_transaction()))
            self._nonce += 1
        answers = self.rpc.run("sends", [("eth_sendRawTransaction", [r]) for r in raw])
        out: list[Any] = []
        for r, a in zip(raw, answers, strict=True):
            if "error" not in a:
                out.append(a["result"])
                continue
            message = str(a["error"].get("message", a["error"]))
            tx_hash = to_hex(keccak(hexstr=r))
            if _known(message) and self._node_has(tx_hash):
                event(log, "send retried: the node already had it", tx=tx_hash, answer=message)
                out.append(tx_hash)
            else:
                out.append(RuntimeError(message))
        return out

    def _node_has(self, tx_hash: str) -> bool:
        [answer] = self.rpc.run("receipts", [("eth_getTransactionByHash", [tx_hash])])
        return bool(answer.get("result"))

    def outcomes(self, calls: list[Call], handles: list[Any]) -> list[Any]:
        """Every receipt (polled in batches until mined, up to 5 minutes); a reverted one is
        simulated again to tell a race from a failure. The gas each spent is counted."""
        receipts: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 300
        while len(receipts) < len(handles) and time.monotonic() < deadline:
            waiting = [h for h in handles if h not in receipts]
            answers = self.rpc.run(
                "receipts", [("eth_getTransactionReceipt", [h]) for h in waiting]
            )
            receipts |= {
                h: a["result"] for h, a in zip(waiting, answers, strict=True) if a.get("result")
            }
            if len(receipts) < len(handles):
                time.sleep(0.2)
        out: list[Any] = []
        for call, h in zip(calls, handles, strict=True):
            receipt = receipts.get(h)
            if receipt is None:
                out.append(TimeoutError(f"{h} not mined in 300 s"))
                continue
            price = int(receipt.get("effectiveGasPrice") or "0x0", 16)
            self.metrics["gas spent wei"] += int(receipt["gasUsed"], 16) * price
            if int(receipt["status"], 16) == 1:
                out.append(Landed(int(receipt["blockNumber"], 16), h))
            else:
                again = self.simulate_many([call])[0]
                block = int(receipt["blockNumber"], 16)
                out.append(
                    again
                    if isinstance(again, Exception)
                    else RuntimeError(f"{call[0]} reverted in block {block}")
                )
        return out

    def _chain_id(self) -> int:
        if self._chain is None:
            self._chain = int(self.chain.provider.chain_id)
        return self._chain

    def quote(self, gas: int) -> GasQuote:
        block = self.chain.blocks.head
        base = int(getattr(block, "base_fee", 0) or 0)
        tip = int(self.chain.provider.priority_fee)
        self._fee = (base, tip)
        return GasQuote(gas, base + tip, self.native_usd)

    def reconnect(self) -> None:
        """HTTP has no session to restore: check the node answers (the caller backs off and
        retries until it does). Never starts a node of its own."""
        if not self.chain.provider.web3.is_connected():
            raise ConnectionError("node unreachable")


def _known(message: str) -> bool:
    text = message.lower()
    return "already known" in text or "nonce too low" in text or "already imported" in text
