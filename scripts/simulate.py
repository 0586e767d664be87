"""`ape run simulate`: replay a window of an equity's daily prices (`--csv`, TSLA by default)
or a synthetic gap scenario (`--scenario data/scenarios/NAME.json`) on a local chain with
seeded agents and the real keepers; write reports/<run>/report.md with charts, the oracle's
health (pushes made / refused / suspect, the longest stale-or-HALTED time while the source was
OPEN, the largest divergence), bad debt and who absorbed it, and a reconciliation of every
collateral token unit. The chain's clock must start at the window (`make demo` does this).

`--backend revm` (or `pyevm`) runs the same replay in-process instead (what
`python -m synthequity.sim` does: no node is used, nothing deployed on it).

Progress: a bar with the ETA and ticks/s (plain lines when the output is not a terminal);
Ctrl-C ends the replay at the next tick and still writes the (partial) report.

Exit status: 0; 1 when the reconciliation does not balance, the oracle was frozen (unusable
while the source was OPEN) longer than `--max-stale-open` minutes, or the run was interrupted."""

import click
from ape.cli import ConnectedProviderCommand

from synthequity.sim.cli import BACKENDS, sim_options
from synthequity.ui import make_console

console = make_console()


@click.command(cls=ConnectedProviderCommand)
@sim_options
@click.option(
    "--market",
    "market_symbol",
    default=None,
    help="The deployed market to replay on (default: --symbol's, else the only one deployed).",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="anvil",
    show_default=True,
    help="anvil: the connected node (deployed by `ape run deploy`); revm / pyevm: in-process "
    "(deploy_protocol in titanoboa, ~30x faster with revm).",
)
def cli(network, out, charts, market_symbol, backend, **opts):
    from ape import accounts, chain
    from ape.logging import logger

    from synthequity import logs
    from synthequity.sim.cli import make_config, replay, report, run_local
    from synthequity.sim.run import (
        Simulation,
        deployed_market,
        load_stack,
        prepare,
        replace_policy,
    )

    logger.set_level("WARNING")
    logs.configure(json_lines=False, level="WARNING")
    cfg, policies = make_config(**opts)
    if backend != "anvil":
        report(run_local(cfg, policies, backend, console), cfg, out, console, charts)
        return
    if not network.is_local:
        raise SystemExit("the simulation moves the chain's clock: run it on a local chain")
    test = accounts.test_accounts
    on = deployed_market(network, market_symbol or cfg.label)
    if on != cfg.label:
        console.print(f"replaying {cfg.label}'s prices on the market deployed as {on}")
    try:  # deployed by `ape run deploy` (as `make demo` does): nothing is deployed here
        stack = load_stack(
            network, on, admin=test[0], reporter=test[1], keeper=test[5], confirmer=test[6]
        )
    except LookupError as exc:
        raise SystemExit(f"refused: {exc}") from None
    agents = cfg.make_agents()
    console.print(f"funding {len(agents)} agents ...")
    who = prepare(stack, agents)
    snapshot = chain.snapshot() if len(policies) > 1 else None
    results = []
    for i, policy in enumerate(policies):
        if i and snapshot is not None:
            chain.restore(snapshot)
        sim = Simulation(stack, who, agents, replace_policy(cfg, policy))
        results.append(replay(sim, console))
        if results[-1].interrupted:
            break
    report(results, cfg, out, console, charts)
