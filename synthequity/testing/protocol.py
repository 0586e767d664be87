"""`deploy_protocol`: the whole protocol for one equity, deployed in titanoboa (no node), with
every role granted to a named account — the one way tests, benches and outside auditors
stand the protocol up in-process (docs/testing.md). Its name, its arguments and the handles'
names are a public interface.

    import boa
    from synthequity.testing import deploy_protocol

    p = deploy_protocol(decimals=6)
    p.push(250.0)                                  # an OPEN price, from the reporter
    p.fund(p.trader, 100_000)                      # mock USD, approved to vault, market, pool
    with boa.env.prank(p.trader):
        p.vault.open(p.units(1_500), 4 * 10**18)   # 1,500 USD against 4 sTSLA
        p.market.deposit_margin(p.units(1_000))
        p.market.commit_order(10**18, 260 * 10**18)
    p.push(251.0)                                  # a newer price: the order may fill
    p.market.execute_order(p.trader, sender=p.keeper)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa

from synthequity.constants import ORDERS_ROLE
from synthequity.model.perp import MarketParams
from synthequity.model.vault import VaultParams
from synthequity.testing.boa_stack import contract_at, deploy_factory, deployer

OPEN, CLOSED, HALTED = 2, 1, 3
ORACLE_DECIMALS = 8


@dataclass
class Protocol:
    """Handles for one equity's protocol. Contracts: `oracle`, `collateral`, `insurance`,
    `factory`, `codec`, `vault` (+ `vault_ext`), `synth`, `stability_pool` (the vault's),
    `market` (+ `market_ext`), `pool` (the perp market's liquidity pool), `orders` (its
    conditional-order book, `PerpOrders`).
    Accounts (addresses): `admin` (DEFAULT_ADMIN everywhere), `reporter` (pushes prices),
    `guardian` (pauses), `risk_admin` (parameters, the pool's deposit lock included), and the
    users `trader`, `borrower`, `lp`, `keeper`, `attacker`. `vault` and `market` answer every
    function of their interface, their extension's included."""

    symbol: str
    admin: str
    reporter: str
    guardian: str
    risk_admin: str
    trader: str
    borrower: str
    lp: str
    keeper: str
    attacker: str
    oracle: Any
    collateral: Any
    insurance: Any
    factory: Any
    codec: Any
    vault: Any
    vault_ext: Any
    synth: Any
    market: Any
    market_ext: Any
    pool: Any
    stability_pool: Any
    orders: Any

    @property
    def usd_per_unit(self) -> int:
        """10 ** (18 - collateral decimals): collateral units -> USD wad."""
        return int(10 ** (18 - self.collateral.decimals()))

    def units(self, usd: float) -> int:
        """`usd` dollars in collateral units."""
        return round(usd * 10**18) // self.usd_per_unit

    def push(self, price_usd: float, status: int = OPEN, dt: int = 60) -> None:
        """Moves the clock `dt` seconds and pushes `price_usd` with `status` as the reporter."""
        boa.env.time_travel(seconds=dt)
        answer = round(price_usd * 10**ORACLE_DECIMALS)
        self.oracle.push_price(answer, boa.env.timestamp, status, sender=self.reporter)

    def fund(self, who: str, usd: float) -> None:
        """Mints `usd` of the mock collateral to `who` and approves the vault, the market and
        the pool for all of it, and the stability pool for all of `who`'s synth."""
        self.collateral.faucet(who, self.units(usd), sender=who)
        for spender in (self.vault, self.market, self.pool):
            self.collateral.approve(spender, 2**256 - 1, sender=who)
        self.synth.approve(self.stability_pool, 2**256 - 1, sender=who)

    def open_for_trading(
        self, price_usd: float = 200.0, pool_usd: float = 1_000_000, margin_usd: float = 10_000
    ) -> None:
        """An OPEN `price_usd`; `lp` puts `pool_usd` in the pool and `trader` `margin_usd` of
        margin in the perp market (each funded and approved first)."""
        self.push(price_usd)
        self.fund(self.lp, pool_usd)
        self.fund(self.trader, margin_usd)
        self.pool.deposit(self.units(pool_usd), self.lp, sender=self.lp)
        self.market.deposit_margin(self.units(margin_usd), sender=self.trader)


def deploy_protocol(
    decimals: int = 6,
    collateral: Any | None = None,
    symbol: str = "TSLA",
    vault_params: VaultParams | None = None,
    perp_params: MarketParams | None = None,
    max_age_open: int = 120,
    max_jump_bps: int = 2_500,
) -> Protocol:
    """Deploys, for one equity: its oracle, the collateral (a mock USD of `decimals`, or the
    given token), the insurance fund, the factory with every blueprint and the params codec,
    the vault with its synth and stability pool, the perp market with its pool (each with its
    extension), and grants every role (`Protocol` names them). Nothing is priced yet: `push`
    first."""
    names = ("admin", "reporter", "guardian", "risk_admin")
    users = ("trader", "borrower", "lp", "keeper", "attacker")
    acct = {n: boa.env.generate_address(n) for n in (*names, *users)}
    admin = acct["admin"]
    with boa.env.prank(admin):
        oracle = deployer("oracle").deploy(admin, ORACLE_DECIMALS, f"{symbol} / USD", max_jump_bps)
        oracle.grantRole(oracle.REPORTER_ROLE(), acct["reporter"])
        oracle.grantRole(oracle.RISK_ADMIN_ROLE(), acct["risk_admin"])
        token = collateral or deployer("stablecoin").deploy("Mock USD", "mUSD", decimals)
        insurance = deployer("insurance").deploy(admin, token)
        factory = deploy_factory(admin)
        vault = contract_at(
            "vault",
            factory.deploy_vault(
                f"Synthetic {symbol}"[:25],
                f"s{symbol}"[:5],
                token,
                insurance,
                oracle,
                max_age_open,
                (vault_params or VaultParams()).as_tuple(),
                admin,
            ),
        )
        factory.deploy_perp(
            symbol,
            f"synthequity {symbol} LP"[:25],
            "sqLP",
            token,
            insurance,
            oracle,
            max_age_open,
            (perp_params or MarketParams()).as_tuple(),
            admin,
        )
        market = contract_at("perp", factory.perps(symbol))
        pool = deployer("pool").at(factory.pool_of(market.address))
        for book in (vault, market):
            insurance.grantRole(insurance.MARKET_ROLE(), book)
            book.grantRole(book.RISK_ADMIN_ROLE(), acct["risk_admin"])
            book.grantRole(book.GUARDIAN_ROLE(), acct["guardian"])
        pool.grantRole(pool.RISK_ADMIN_ROLE(), acct["risk_admin"])  # the deposit lock
        stability_pool = deployer("stability_pool").deploy(vault, vault.SYNTH(), token)
        orders = deployer("perp_orders").deploy(market, market.params()[2])
        market.grantRole(ORDERS_ROLE, orders)
    return Protocol(
        symbol=symbol,
        **acct,
        oracle=oracle,
        collateral=token,
        insurance=insurance,
        factory=factory,
        codec=deployer("codec").at(factory.params_codec()),
        vault=vault,
        vault_ext=deployer("vault_ext").at(vault.EXTENSION()),
        synth=deployer("synth").at(vault.SYNTH()),
        market=market,
        market_ext=deployer("perp_ext").at(market.EXTENSION()),
        pool=pool,
        stability_pool=stability_pool,
        orders=orders,
    )
