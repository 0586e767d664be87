"""The replay's chain I/O, behind one small interface (`SimChain`) so that the simulation's
decisions — the oracle, perp and vault keepers' `logic`, the agents' rules, the policy — are
the same code on both backends:

- `ApeChain`: a node through Ape (anvil: `make demo`, the real-node check);
- `synthequity.sim.boa_backend.BoaSimChain`: titanoboa in-process (`make stress`).

Contract handles are the backend's own (an Ape contract, a `BoaContract`); both answer views
as `handle.fn(*args)`. Transactions, batched reads, events and the Transfer ledger go
through the backend."""

from __future__ import annotations

import time
from typing import Any, Protocol

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


class SimChain(Protocol):
    name: str

    def feed_io(self, oracle: Any, account: Any) -> Any: ...  # keepers.oracle FeedIO
    def market_io(self, market: Any, account: Any) -> Any: ...  # keepers.perp MarketIO
    def vault_io(self, vault: Any, account: Any) -> Any: ...  # keepers.vault VaultIO
    def start(self) -> None: ...  # deterministic block times from here on
    def head(self) -> tuple[int, int]: ...  # the head block's number and time
    def block_time(self, block: int) -> int: ...
    def read_many(self, calls: list[tuple[Any, str, tuple[Any, ...]]]) -> list[Any]: ...
    # a transaction as a wallet sends it (preflight estimate first): None, or the revert reason
    def send(self, contract: Any, fn: str, args: tuple[Any, ...], sender: Any) -> str | None: ...
    def events(self, contract: Any, event: str, lo: int, hi: int) -> list[Any]: ...  # inclusive
    # the collateral token's Transfer logs since genesis: (block, from, to, value)
    def transfers(self, token: Any) -> list[tuple[int, str, str, int]]: ...
    # every address in `event`'s first indexed argument since genesis
    def indexed_accounts(self, contract: Any, event: str) -> set[str]: ...
    def new_accounts(self, n: int) -> list[Any]: ...  # funded with gas, able to send
    def address(self, account: Any) -> str: ...


def one_block_each(io: type) -> type:
    """A keeper's `ApeChainIO` whose batch of jobs lands one transaction per block, in order.

    A live keeper sends its batch at once, and anvil mines what reached its pool together in
    one block or in several, as the timing falls: each block then starts at another second,
    and the funding accrued between the jobs differs by a few micro-dollars from run to run
    (the anvil/revm parity test failed on that in CI). The replay wants a run to be a function
    of its inputs, and the in-process chain mines one block per transaction: here each job
    is sent after the previous one is mined."""

    class OneBlockEach(io):  # type: ignore[misc, valid-type]
        def send_many(self, calls: list[Any], gas: list[int]) -> list[Any]:
            out: list[Any] = []
            for call, units in zip(calls, gas, strict=True):
                [sent] = super().send_many([call], [units])
                if not isinstance(sent, Exception):
                    self._mined(sent)
                out.append(sent)
            return out

        def _mined(self, tx_hash: str) -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                [answer] = self.rpc.run("receipts", [("eth_getTransactionReceipt", [tx_hash])])
                if answer.get("result"):
                    return
                time.sleep(0.01)
            raise TimeoutError(f"{tx_hash} not mined in 60 s")

    OneBlockEach.__name__ = OneBlockEach.__qualname__ = f"OneBlockEach{io.__name__}"
    return OneBlockEach


class ApeChain:
    """`SimChain` over Ape's connected provider (a local node)."""

    name = "anvil"

    def __init__(self) -> None:
        from ape import chain

        self.chain = chain

    def feed_io(self, oracle: Any, account: Any) -> Any:
        from synthequity.sim.run import SimFeedIO

        return SimFeedIO(oracle, account)

    def market_io(self, market: Any, account: Any) -> Any:
        from synthequity.keepers.perp.runner import ApeMarketIO

        return one_block_each(ApeMarketIO)(market, account, native_usd=0)

    def vault_io(self, vault: Any, account: Any) -> Any:
        from synthequity.keepers.vault.runner import ApeVaultIO

        return one_block_each(ApeVaultIO)(vault, account, native_usd=0)

    def start(self) -> None:
        """Every block 1 s after the previous one unless the replay sets the next block's time:
        a run is then a function of its inputs, not of the wall clock (and the boa backend
        models the same chain)."""
        self.chain.provider.make_request("anvil_setBlockTimestampInterval", [1])

    def head(self) -> tuple[int, int]:
        block = self.chain.blocks.head
        return int(block.number), int(block.timestamp)

    def block_time(self, block: int) -> int:
        return int(self.chain.blocks[block].timestamp)

    def read_many(self, calls: list[tuple[Any, str, tuple[Any, ...]]]) -> list[Any]:
        from synthequity.contracts import read_many

        return read_many(calls)

    def send(self, contract: Any, fn: str, args: tuple[Any, ...], sender: Any) -> str | None:
        from ape.exceptions import ContractLogicError

        try:
            getattr(contract, fn)(*args, sender=sender)
        except ContractLogicError as exc:
            return str(exc.revert_message)
        return None

    def events(self, contract: Any, event: str, lo: int, hi: int) -> list[Any]:
        return list(getattr(contract, event).range(lo, hi + 1))

    def _logs(self, address: str, topic: str) -> list[Any]:
        return list(
            self.chain.provider.web3.eth.get_logs(
                {
                    "address": address,
                    "fromBlock": 0,
                    "toBlock": self.chain.blocks.head.number,
                    "topics": [topic],
                }
            )
        )

    def transfers(self, token: Any) -> list[tuple[int, str, str, int]]:
        return [
            (
                int(lg["blockNumber"]),
                _addr(lg["topics"][1]),
                _addr(lg["topics"][2]),
                int.from_bytes(bytes(lg["data"]), "big"),
            )
            for lg in self._logs(token.address, TRANSFER_TOPIC)
        ]

    def indexed_accounts(self, contract: Any, event: str) -> set[str]:
        from eth_utils import keccak

        abi = getattr(contract, event).abi
        topic = "0x" + keccak(text=abi.selector).hex()
        return {_addr(lg["topics"][1]) for lg in self._logs(contract.address, topic)}

    def new_accounts(self, n: int) -> list[Any]:
        from ape import accounts

        out = []
        for _ in range(n):
            acct = accounts.test_accounts.generate_test_account()
            acct.balance = 100 * 10**18  # gas on the local node
            out.append(acct)
        return out

    def address(self, account: Any) -> str:
        return str(account.address)


def _addr(topic: Any) -> str:
    from eth_utils import to_checksum_address

    raw = bytes(topic) if not isinstance(topic, str) else bytes.fromhex(topic.removeprefix("0x"))
    return to_checksum_address(raw[-20:])
