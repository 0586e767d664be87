"""Wiring for `ape run keeper orders` and `ape run keeper liquidate`."""

from __future__ import annotations

from typing import Any

from synthequity import deployments, logs
from synthequity.keepers.common import StopFlag
from synthequity.keepers.perp.logic import AccountIndex
from synthequity.keepers.perp.runner import ApeMarketIO, KeeperConfig, PerpKeeper
from synthequity.ui import make_console

console = make_console(stderr=True)


def run_perp_keeper(network: Any, account: Any, *, jobs: str, **opt: Any) -> PerpKeeper:
    from ape import chain, project
    from ape.logging import logger as ape_logger

    logs.configure(json_lines=opt["log_format"] == "json")
    ape_logger.set_level("WARNING")
    record = deployments.load(deployments.network_key(network))
    address = opt.get("market_address") or deployments.address_of(record, opt["symbol"], "perp")
    market = project.PerpMarket.at(address)
    start = opt.get("from_block")
    if start is None:  # the block the market was deployed in, when recorded; else genesis
        start = (record.get("markets", {}).get(opt["symbol"], {}).get("perp") or {}).get("block")
    keeper = PerpKeeper(
        io=ApeMarketIO(market, account, native_usd=int(opt["native_usd"] * 10**18)),
        index=AccountIndex(start_block=int(start or 0)),
        config=KeeperConfig(
            orders=jobs in ("orders", "all"),
            liquidations=jobs in ("liquidate", "all"),
            dry_run=opt["dry_run"],
            min_profit_usd=int(opt["min_profit_usd"] * 10**18),
            max_fee_gwei=opt.get("max_fee_gwei"),
        ),
        stop=StopFlag().install(),
    )
    metrics = keeper.run(poll_s=opt["poll"], max_ticks=opt.get("max_ticks"))
    console.print(
        f"{jobs} keeper on {market.address} (head {chain.blocks.head.number}): "
        f"{metrics.as_fields()}"
    )
    return keeper
