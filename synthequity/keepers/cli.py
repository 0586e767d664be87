"""Wiring for `ape run keeper orders`, `ape run keeper liquidate` and `ape run keeper
inventory`: read the deployment record, build the keepers, run them until SIGINT/SIGTERM."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from synthequity import logs
from synthequity.contracts import at
from synthequity.deployments import MarketContracts
from synthequity.keepers.common import StopFlag
from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.perp.runner import ApeMarketIO, PerpKeeper
from synthequity.keepers.shell import ChainKeeper, KeeperConfig, run_keepers
from synthequity.keepers.vault.runner import ApeVaultIO, VaultKeeper
from synthequity.ui import make_console

console = make_console(stderr=True)


def _market(network: Any, symbol: str, given: dict[str, str | None]) -> MarketContracts | None:
    """The deployment record's contracts, unless every address was given on the command line
    (then no record is needed)."""
    if given and all(given.values()):
        return None
    try:
        return MarketContracts.load(network, symbol)
    except LookupError as exc:
        raise SystemExit(f"refused: {exc}") from None


def build_keepers(network: Any, account: Any, *, jobs: str, **opt: Any) -> list[ChainKeeper]:
    """`jobs`: "orders" (perp orders), "liquidate" (perp and/or vault per `book`)."""
    from ape import project

    symbol, native_usd = opt["symbol"], int(opt["native_usd"] * 10**18)
    stop = StopFlag().install()
    config = dict(
        dry_run=opt["dry_run"],
        min_profit_usd=int(opt["min_profit_usd"] * 10**18),
        max_fee_gwei=opt.get("max_fee_gwei"),
    )
    book = opt.get("book", "perp")
    # (record name, keeper, chain transport, contract type, config)
    wanted: list[tuple[str, Any, Any, Any, KeeperConfig]] = []
    given: dict[str, str | None] = {}  # record name -> --market / --vault
    if jobs == "orders" or book in ("perp", "all"):
        perp_cfg = KeeperConfig(orders=jobs == "orders", liquidations=jobs == "liquidate", **config)
        wanted.append(("perp", PerpKeeper, ApeMarketIO, project.PerpMarket, perp_cfg))
        given["perp"] = opt.get("market_address")
    if jobs == "liquidate" and book in ("vault", "all"):
        vault_cfg = KeeperConfig(orders=False, **config)
        wanted.append(("vault", VaultKeeper, ApeVaultIO, project.SynthVault, vault_cfg))
        given["vault"] = opt.get("vault_address")
    market = _market(network, symbol, given)
    keepers: list[ChainKeeper] = []
    for name, keeper, io, kind, cfg in wanted:
        address = given[name]
        contract = at(kind, address) if address else _need(market, name)
        # --from-block, else the block the recorded contract was deployed in, else genesis
        start = opt.get("from_block")
        if start is None:
            start = (market.block(name) if market is not None and not address else None) or 0
        keepers.append(
            keeper(
                io=io(contract, account, native_usd),
                index=AccountIndex(start),
                config=cfg,
                stop=stop,
            )
        )
    return keepers


def _need(market: MarketContracts | None, name: str) -> Any:
    assert market is not None  # loaded whenever an address was not given
    try:
        return market.need(name)
    except LookupError as exc:
        raise SystemExit(f"refused: {exc}") from None


def run_keeper_cli(network: Any, account: Any, *, jobs: str, **opt: Any) -> list[ChainKeeper]:
    from ape import chain
    from ape.logging import logger as ape_logger

    logs.configure(json_lines=opt["log_format"] == "json")
    ape_logger.set_level("WARNING")
    keepers = build_keepers(network, account, jobs=jobs, **opt)
    run_keepers(keepers, keepers[0].stop, poll_s=opt["poll"], max_ticks=opt.get("max_ticks"))
    for k in keepers:
        console.print(
            f"{jobs} keeper ({k.name}) on {k.io.contract.address} "
            f"(head {chain.blocks.head.number}): {k.summary()}"
        )
    return keepers


def run_inventory_cli(network: Any, account: Any, **opt: Any) -> None:
    """Show the keeper's sTSLA inventory; with --collateral/--mint, open (or top up) the
    keeper's own vault position to mint more. Refuses to leave it below --min-cr."""
    market = _market(network, opt["symbol"], {})
    vault = _need(market, "vault")
    io = ApeVaultIO(vault, account)
    synth, collateral = io.synth, _need(market, "collateral")
    add = int(Decimal(str(opt["collateral"])) * 10**18) // io.usd_per_unit
    mint = int(Decimal(str(opt["mint"])) * 10**18)
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
        f"debt {debt / 1e18:.6f}, CR {cr})"
    )
