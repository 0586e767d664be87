"""The wallet user's commands (`ape run vault|perp|pool ...`) over Ape: the deployment
record's contracts, human units in and out, approvals, a confirmation, the preflight checks
of `user.preflight` before anything is sent, and the contract's own reason when a
transaction still reverts. Works with any Ape account (keystore on a testnet, TEST::n on a
local chain)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from synthequity.contracts import base_price_wad, flat
from synthequity.deployments import MarketContracts
from synthequity.keepers.perp.runner import ApeMarketIO
from synthequity.market_hours import nyse
from synthequity.model import perp as pm
from synthequity.ui import make_console
from synthequity.user.preflight import Refused, check, fmt, price_problem

WAD = 10**18
console = make_console()


class Session:
    def __init__(self, network: Any, account: Any, symbol: str, yes: bool = False):
        from ape import chain

        self.chain, self.account, self.symbol, self.yes = chain, account, symbol.upper(), yes
        try:
            contracts = MarketContracts.load(network, symbol)
            self.contracts = contracts
            self.vault = contracts.need("vault")
            self.market = contracts.need("perp")
            self.oracle = contracts.oracle
            self.synth = contracts.need("synth")
            self.pool = contracts.need("pool")
            self.collateral = contracts.need("collateral")
        except LookupError as exc:
            raise Refused(str(exc)) from None
        self.decimals = int(self.collateral.decimals())
        self.cash_symbol = str(self.collateral.symbol())
        self.synth_symbol = str(self.synth.symbol())
        self.upu = 10 ** (18 - self.decimals)

    # ---- reads ------------------------------------------------------------------------------
    def deployed_at(self) -> int:
        """The block the market's oracle was deployed in, as recorded (0 when unknown): where
        a scan of its logs starts."""
        return self.contracts.block("oracle") or 0

    def now(self) -> int:
        return int(self.chain.pending_timestamp)

    def price_wad(self) -> int:
        """Per base share: sizes, debts and orders are kept in base shares (docs/spec.md §6)."""
        return base_price_wad(self.oracle)

    def settled_at(self, contract: Any) -> int:
        """The frozen price of a market in settlement (delisted), 0 while it is live."""
        return int(contract.settlement_price_wad())

    def price_problem(self, contract: Any) -> str | None:
        if frozen := self.settled_at(contract):
            return f"market settled (delisted) at ${fmt(frozen, 18)} per base share"
        has = int(self.oracle.latestRound()) > 0
        if not has:
            return price_problem(0, 0, self.now(), 0, has_price=False)
        _, _, _, updated_at, _ = self.oracle.latestRoundData()
        return price_problem(
            int(self.oracle.reported_status()),
            int(updated_at),
            self.now(),
            int(contract.max_age_open()),
            nyse(),
        )

    def cash(self) -> int:
        return int(self.collateral.balanceOf(self.account))

    def usd(self, units: int) -> str:
        return f"{fmt(units, self.decimals)} {self.cash_symbol}"

    def perp_position(self) -> pm.Position:
        return pm.Position(*flat(self.market.position(self.account)))

    @functools.cached_property
    def _market_io(self) -> ApeMarketIO:
        return ApeMarketIO(self.market, self.account)

    def perp_params(self) -> pm.PerpParams:
        return self._market_io.params()[0]

    def perp_index(self, price: int) -> int:
        """The funding index at the next block's time (what a transaction would settle)."""
        return self._market_io.index_now(price, self.now())

    # ---- writes -----------------------------------------------------------------------------
    def confirm(self, what: str, lines: list[str]) -> None:
        console.print(f"[bold]{what}[/] from {self.account.address}")
        for line in lines:
            console.print(f"  {line}")
        if not self.yes and not click.confirm("send?", default=False):
            raise Refused("cancelled: nothing sent")

    def approve(self, spender: Any, units: int) -> None:
        if int(self.collateral.allowance(self.account, spender)) < units:
            self.send(self.collateral.approve, spender, units)

    def transact(
        self,
        what: str,
        fn: Callable[..., Any],
        *args: Any,
        lines: list[str] | None = None,
        spend: tuple[Any, int] | None = None,
    ) -> Any:
        """Confirm, approve `spend` (spender, units) when given, send."""
        self.confirm(what, lines or [])
        if spend is not None:
            self.approve(*spend)
        return self.send(fn, *args)

    def send(self, fn: Callable[..., Any], *args: Any) -> Any:
        from ape.exceptions import ContractLogicError

        try:
            return fn(*args, sender=self.account)
        except ContractLogicError as exc:
            raise Refused(f"reverted by the contract: {exc.revert_message}") from None


def user_command(fn: Callable[..., Any] | None = None, *, confirm: bool = True) -> Any:
    """A wallet command: `fn(session, **options)` connected to `--network`, with
    `--account`, `--symbol` and (when it sends) `--yes`; a refusal is one plain line and exit
    code 1, nothing sent."""
    from ape.cli import ConnectedProviderCommand, account_option

    def wrap(fn: Callable[..., Any]) -> Any:
        @functools.wraps(fn)
        def callback(network: Any, account: Any, symbol: str, yes: bool = False, **opt: Any):
            try:
                fn(Session(network, account, symbol, yes), **opt)
            except Refused as exc:
                console.print(f"[red]refused:[/] {exc}")
                raise SystemExit(1) from None

        # Ape passes `network` only to callbacks whose own signature names it: not `fn`'s
        del callback.__wrapped__
        cmd: Any = callback
        if confirm:
            cmd = click.option("--yes", is_flag=True, help="Send without asking.")(cmd)
        cmd = click.option("--symbol", default="TSLA", show_default=True)(cmd)
        cmd = account_option()(cmd)
        return click.command(cls=ConnectedProviderCommand)(cmd)

    return wrap(fn) if fn is not None else wrap


__all__ = ["Refused", "Session", "check", "console", "user_command"]
