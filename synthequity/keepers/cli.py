"""Wiring for `ape run keeper orders`, `ape run keeper liquidate` and `ape run keeper
inventory`: the settings (`keepers.settings`: flags over environment over config file), the
deployment record, the keepers (with their shard and the network's batch sizes), `/metrics`
and `/health` when asked, and the loop until SIGINT/SIGTERM."""

from __future__ import annotations

import contextlib
import logging
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from synthequity import logs
from synthequity.contracts import at
from synthequity.deployments import MarketContracts
from synthequity.keepers.common import StopFlag
from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.metrics import MetricsServer, Watched
from synthequity.keepers.perp.runner import ApeMarketIO, PerpKeeper
from synthequity.keepers.settings import KeeperSettings, load_settings
from synthequity.keepers.shell import ChainKeeper, KeeperConfig, run_keepers
from synthequity.keepers.vault.runner import ApeVaultIO, VaultKeeper
from synthequity.logs import event
from synthequity.model.vault import synth_cost_units
from synthequity.ui import make_console

console = make_console(stderr=True)
log = logging.getLogger("synthequity.keeper")


def _market(network: Any, symbol: str, given: dict[str, str | None]) -> MarketContracts | None:
    """The deployment record's contracts, unless every address was given on the command line
    (then no record is needed)."""
    if given and all(given.values()):
        return None
    try:
        return MarketContracts.load(network, symbol)
    except LookupError as exc:
        raise SystemExit(f"refused: {exc}") from None


def build_keepers(
    network: Any, account: Any, *, jobs: str, settings: KeeperSettings
) -> list[ChainKeeper]:
    """`jobs`: "orders" (perp orders), "liquidate" (perp and/or vault per `settings.book`)."""
    from ape import project

    s = settings
    native_usd = int(s.native_usd * 10**18)
    stop = StopFlag().install()
    config = dict(
        dry_run=s.dry_run,
        min_profit_usd=int(s.min_profit_usd * 10**18),
        max_fee_gwei=s.max_fee_gwei,
        page_size=s.page_size,
        rpc_attempts=s.rpc_attempts,
    )
    limits = s.limits(f"{network.ecosystem.name}:{network.name}", network.is_local)
    shard = s.shard_of()
    # (record name, keeper, chain transport, contract type, config)
    wanted: list[tuple[str, Any, Any, Any, KeeperConfig]] = []
    given: dict[str, str | None] = {}  # record name -> --market / --vault
    if jobs == "orders" or s.book in ("perp", "all"):
        perp_cfg = KeeperConfig(orders=jobs == "orders", liquidations=jobs == "liquidate", **config)
        wanted.append(("perp", PerpKeeper, ApeMarketIO, project.PerpMarket, perp_cfg))
        given["perp"] = s.market_address
    if jobs == "liquidate" and s.book in ("vault", "all"):
        vault_cfg = KeeperConfig(orders=False, **config)
        wanted.append(("vault", VaultKeeper, ApeVaultIO, project.SynthVault, vault_cfg))
        given["vault"] = s.vault_address
    market = _market(network, s.symbol, given)
    keepers: list[ChainKeeper] = []
    for name, keeper, io, kind, cfg in wanted:
        address = given[name]
        contract = at(kind, address) if address else _need(market, name)
        # --from-block, else the block the recorded contract was deployed in, else genesis
        start = s.from_block
        if start is None:
            start = (market.block(name) if market is not None and not address else None) or 0
        chain_io = io(contract, account, native_usd, limits=limits, rpc_url=s.rpc_url)
        if name == "vault" and market is not None and not address:
            # liquidations through the vault's stability pool when it can cover them (a record
            # from before the pool has none: the keeper's inventory only)
            with contextlib.suppress(LookupError):
                chain_io.use_pool(market.need("stability_pool"))
        if name == "perp" and market is not None and not address:
            # the market's conditional orders too (a record from before issue 20 has none)
            with contextlib.suppress(LookupError):
                chain_io.use_book(market.need("perp_orders"))
        keepers.append(
            keeper(io=chain_io, index=AccountIndex(start, shard=shard), config=cfg, stop=stop)
        )
    event(
        log,
        "keeper settings",
        jobs=jobs,
        shard=str(shard),
        batch=str(limits),
        account=str(account.address),
    )
    return keepers


def _need(market: MarketContracts | None, name: str) -> Any:
    assert market is not None  # loaded whenever an address was not given
    try:
        return market.need(name)
    except LookupError as exc:
        raise SystemExit(f"refused: {exc}") from None


def serve_metrics(keepers: list[Any], settings: KeeperSettings) -> MetricsServer | None:
    """`/metrics` and `/health` for these keepers when `metrics_port` is set."""
    if settings.metrics_port is None:
        return None
    watched = Watched(labels={"market": settings.symbol})
    for k in keepers:
        watched.add(k.name, k.metrics)
    server = MetricsServer(
        watched,
        settings.metrics_port,
        host=settings.metrics_host,
        stale_s=settings.health_stale_s,
        max_block_age_s=settings.health_max_block_age_s,
    ).start()
    event(log, "metrics served", host=settings.metrics_host, port=server.port)
    return server


def run_keeper_cli(
    network: Any, account: Any, *, jobs: str, config: str | None = None, **flags: Any
) -> list[ChainKeeper]:
    from ape import chain
    from ape.logging import logger as ape_logger

    try:
        settings = load_settings(config, **flags)
    except ValidationError as exc:
        raise SystemExit(f"refused: {exc}") from None
    logs.configure(json_lines=settings.log_format == "json")
    ape_logger.set_level("WARNING")
    keepers = build_keepers(network, account, jobs=jobs, settings=settings)
    server = serve_metrics(keepers, settings)
    try:
        run_keepers(keepers, keepers[0].stop, poll_s=settings.poll, max_ticks=settings.max_ticks)
    finally:
        if server is not None:
            server.stop()
    for k in keepers:
        console.print(
            f"{jobs} keeper ({k.name}) on {k.io.contract.address} "
            f"(head {chain.blocks.head.number}): {k.summary()}"
        )
    return keepers


def run_inventory_cli(network: Any, account: Any, **opt: Any) -> None:
    """Show the keeper's sTSLA inventory; with --buy-fee-synth, buy the insurance fund's
    stability-fee synth at the oracle price (no position of the keeper's own: it stays
    flat); with --collateral/--mint, open (or top up) the keeper's own vault position to
    mint more. Refuses to leave it below --min-cr."""
    market = _market(network, opt["symbol"], {})
    vault = _need(market, "vault")
    io = ApeVaultIO(vault, account)
    synth, collateral = io.synth, _need(market, "collateral")
    add = int(Decimal(str(opt["collateral"])) * 10**18) // io.usd_per_unit
    mint = int(Decimal(str(opt["mint"])) * 10**18)
    buy = int(Decimal(str(opt.get("buy_fee_synth") or "0")) * 10**18)
    if buy:
        _buy_fee_synth(vault, io, collateral, account, buy)
    if add or mint:
        if not io.oracle.latestRound():
            raise SystemExit("refused: the oracle has no price yet; nothing can be minted")
        if collateral.balanceOf(account) < add:
            raise SystemExit(
                f"refused: {account.address} holds "
                f"{collateral.balanceOf(account) * io.usd_per_unit / 1e18:,.2f} USD of collateral,"
                f" less than --collateral {opt['collateral']}"
            )
        held, debt = vault.position(account)
        price = io.price()
        cr_bps = (held + add) * io.usd_per_unit * 10_000 * 10**18 // max((debt + mint) * price, 1)
        if cr_bps < opt["min_cr"] * 100:
            raise SystemExit(
                f"refused: the keeper's own position would sit at {cr_bps / 100:.1f}% "
                f"(< --min-cr {opt['min_cr']}%); a keeper liquidated itself earns nothing"
            )
        from ape.exceptions import ContractLogicError

        try:  # the vault's own reasons (market closed, stale price, min debt) in plain words
            if add and collateral.allowance(account, vault) < add:
                collateral.approve(vault, add, sender=account)
            vault.open(add, mint, sender=account)
        except ContractLogicError as exc:
            raise SystemExit(f"refused by the vault: {exc.revert_message}") from None
    held, debt = vault.position(account)
    cr = f"{vault.collateral_ratio(account) / 1e16:.1f}%" if debt else "no debt"
    console.print(
        f"{synth.symbol()} inventory of {account.address}: {synth.balanceOf(account) / 1e18:.6f}"
        f" (own vault position: collateral {held * io.usd_per_unit / 1e18:,.2f} USD, "
        f"debt {debt / 1e18:.6f}, CR {cr}); the insurance fund's fee synth for sale at the "
        f"oracle price: {synth.balanceOf(vault.INSURANCE()) / 1e18:.6f}"
    )


FEE_SYNTH_PRICE_SLACK_BPS = 50  # --buy-fee-synth pays at most this over the price it read


def _buy_fee_synth(vault: Any, io: ApeVaultIO, collateral: Any, account: Any, amount: int) -> None:
    """`buy_fee_synth(amount, max_paid)`: refused before anything is sent when the fund holds
    less, the oracle has no price or the wallet cannot pay; `max_paid` is the cost at the
    price read plus `FEE_SYNTH_PRICE_SLACK_BPS` (a newer price may land first)."""
    from ape.exceptions import ContractLogicError

    have = io.synth.balanceOf(vault.INSURANCE())
    if amount > have:
        raise SystemExit(
            f"refused: the insurance fund holds {have / 1e18:.6f} of fee synth, less than "
            f"--buy-fee-synth {amount / 1e18:.6f}"
        )
    if not io.oracle.latestRound():
        raise SystemExit("refused: the oracle has no price yet; nothing can be bought")
    price = io.price()
    cost = synth_cost_units(amount, price, io.usd_per_unit, 0)
    max_paid = synth_cost_units(amount, price, io.usd_per_unit, FEE_SYNTH_PRICE_SLACK_BPS)
    if collateral.balanceOf(account) < max_paid:
        raise SystemExit(
            f"refused: {account.address} holds "
            f"{collateral.balanceOf(account) * io.usd_per_unit / 1e18:,.2f} USD of collateral; "
            f"the synth costs up to {max_paid * io.usd_per_unit / 1e18:,.2f}"
        )
    try:  # the vault's own reasons (market closed, stale price) in plain words
        if collateral.allowance(account, vault) < max_paid:
            collateral.approve(vault, max_paid, sender=account)
        vault.buy_fee_synth(amount, max_paid, sender=account)
    except ContractLogicError as exc:
        raise SystemExit(f"refused by the vault: {exc.revert_message}") from None
    console.print(
        f"bought {amount / 1e18:.6f} fee synth from the insurance fund for about "
        f"{cost * io.usd_per_unit / 1e18:,.2f} USD"
    )
