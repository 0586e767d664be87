"""The wallet user's commands (`ape run vault|perp|pool ...`) over Ape: the deployment
record's contracts, human units in and out, approvals, a confirmation, the preflight checks
of `user.preflight` before anything is sent, and the contract's own reason when a
transaction still reverts. Works with any Ape account (keystore on a testnet, TEST::n on a
local chain)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from synthequity import deployments
from synthequity.contracts import at, base_price_wad
from synthequity.market_hours import nyse
from synthequity.model import perp as pm
from synthequity.ui import make_console
from synthequity.user.preflight import Refused, check, fmt, price_problem

WAD = 10**18
console = make_console()


class Session:
    def __init__(self, network: Any, account: Any, symbol: str, yes: bool = False):
        from ape import chain, project

        self.chain, self.account, self.symbol, self.yes = chain, account, symbol.upper(), yes
        record = deployments.load(deployments.network_key(network))
        self.vault = at(project.SynthVault, deployments.address_of(record, symbol, "vault"))
        self.market = at(project.PerpMarket, deployments.address_of(record, symbol, "perp"))
        self.oracle = at(project.EquityOracle, deployments.address_of(record, symbol, "oracle"))
        self.synth = at(project.SynthToken, self.vault.SYNTH())
        self.pool = at(project.LiquidityPool, self.market.POOL())
        self.collateral = at(project.MockStablecoin, self.vault.COLLATERAL())
        self.decimals = int(self.collateral.decimals())
        self.cash_symbol = str(self.collateral.symbol())
        self.synth_symbol = str(self.synth.symbol())
        self.upu = 10 ** (18 - self.decimals)

    # ---- reads ------------------------------------------------------------------------------
    def now(self) -> int:
        return int(self.chain.pending_timestamp)

    def price_wad(self) -> int:
        """Per base share: sizes, debts and orders are kept in base shares (SPEC.md §6)."""
        return base_price_wad(self.oracle)

    def price_problem(self, contract: Any) -> str | None:
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
        return pm.Position(*_flat(self.market.position(self.account)))

    def perp_params(self) -> pm.PerpParams:
        return pm.PerpParams(*_flat(self.market.params()[0]))

    def perp_index(self, price: int) -> int:
        rate, index, updated = self.market.funding_state()
        state = pm.accrue_funding(
            pm.FundingState(int(rate), int(index), int(updated)),
            int(self.market.skew()),
            price,
            self.now(),
            self.perp_params(),
        )
        return state.index

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

    def send(self, fn: Callable[..., Any], *args: Any) -> Any:
        from ape.exceptions import ContractLogicError

        try:
            return fn(*args, sender=self.account)
        except ContractLogicError as exc:
            raise Refused(f"reverted by the contract: {exc.revert_message}") from None


def user_command(fn: Callable[..., Any]) -> Any:
    """A wallet command: connected to `--network`, with `--account`, `--symbol`, `--yes`."""
    from ape.cli import ConnectedProviderCommand, account_option

    fn = click.option("--yes", is_flag=True, help="Send without asking.")(fn)
    fn = click.option("--symbol", default="TSLA", show_default=True)(fn)
    fn = account_option()(fn)
    return click.command(cls=ConnectedProviderCommand)(fn)


def run(action: Callable[[], None]) -> None:
    """Run a command body; a refusal is one plain line and exit code 1 (nothing was sent)."""
    try:
        action()
    except Refused as exc:
        console.print(f"[red]refused:[/] {exc}")
        raise SystemExit(1) from None


def _flat(row: Any) -> tuple[int, ...]:
    while len(row) == 1 and isinstance(row[0], (tuple, list)):
        row = row[0]
    return tuple(int(x) for x in row)


__all__ = ["Refused", "Session", "check", "console", "run", "user_command"]
