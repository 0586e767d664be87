"""The chain transport of the liquidation keepers: `ApeChainIO` implements the loop's
`ChainIO` (`keepers.shell`) over an Ape contract and a signing account — reads, log pages,
and the JSON-RPC batches a block's jobs go out in (`eth_estimateGas`, locally signed
`eth_sendRawTransaction`, receipts polled in batches). The perp and vault transports
(`keepers.perp.runner.ApeMarketIO`, `keepers.vault.runner.ApeVaultIO`) add their reads."""

from __future__ import annotations

import time
from typing import Any

from eth_utils import to_hex

from synthequity.contracts import read_many
from synthequity.keepers.jobs import GasQuote, LogRef
from synthequity.keepers.shell import Call, Landed, Raced, Reverted


class ApeChainIO:
    """`ChainIO` over an Ape contract and a signing account: the calls every keeper makes."""

    RACED: tuple[str, ...] = ()  # revert reasons that mean "someone else did it first"

    def __init__(self, contract: Any, account: Any, native_usd: int = 3_000 * 10**18):
        from ape import chain

        self.contract, self.account, self.chain = contract, account, chain
        self.native_usd = native_usd
        self._nonce = 0
        self._fee = (0, 0)  # base fee and tip of the last quote, wei per gas
        self._chain: int | None = None

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

    def call_many(self, fn: str, args: list[tuple[Any, ...]]) -> list[Any]:
        """One view of this contract for many argument tuples, in JSON-RPC batches."""
        return read_many([(self.contract, fn, a) for a in args])

    def _rpc_batch(self, requests: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Raw JSON-RPC requests in batches of 250; each answer keeps its own `result` or
        `error` (one reverting call must not fail the rest)."""
        provider = self.chain.provider.web3.provider
        out: list[dict[str, Any]] = []
        for i in range(0, len(requests), 250):
            answer = provider.make_batch_request(requests[i : i + 250])
            if not isinstance(answer, list):  # the node refused the whole batch
                raise ConnectionError(f"batch refused: {answer.get('error', answer)}")
            out += answer
        return out

    def _tx_fields(self, fn: str, args: tuple[Any, ...]) -> dict[str, str]:
        data = getattr(self.contract, fn).encode_input(*args)
        return {"from": self.account.address, "to": self.contract.address, "data": to_hex(data)}

    def simulate_many(self, calls: list[Call]) -> list[int | Exception]:
        """`eth_estimateGas` for every call in one round trip: its gas, or Raced when the
        revert says someone else did it first, or Reverted with the reason."""
        answers = self._rpc_batch(
            [("eth_estimateGas", [self._tx_fields(fn, args), "latest"]) for fn, args in calls]
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
        estimated gas) and send them all in one round trip; the hash, or the node's error."""
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
        answers = self._rpc_batch([("eth_sendRawTransaction", [r]) for r in raw])
        return [
            a["result"] if "error" not in a else RuntimeError(a["error"].get("message"))
            for a in answers
        ]

    def outcomes(self, calls: list[Call], handles: list[Any]) -> list[Any]:
        """Every receipt (polled in batches until mined, up to 5 minutes); a reverted one is
        simulated again to tell a race from a failure."""
        receipts: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 300
        while len(receipts) < len(handles) and time.monotonic() < deadline:
            waiting = [h for h in handles if h not in receipts]
            answers = self._rpc_batch([("eth_getTransactionReceipt", [h]) for h in waiting])
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
            elif int(receipt["status"], 16) == 1:
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
