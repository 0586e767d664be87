"""`ape run admin <command>`: move DEFAULT_ADMIN of every deployed contract (insurance fund,
factory, and per equity its oracle, vault, perp market and pool) to a new account in two
steps, as docs/runbooks/admin.md describes.

    ape run admin status   --network ... --account deployer
    ape run admin transfer --network ... --account deployer --to 0xMultisig
    ape run admin accept   --network ... --account multisig-signer
`transfer` proposes (nothing changes yet; re-running sends only what is missing); `accept`,
sent by the new admin, completes it contract by contract; until then the old admin can
withdraw the proposal with `transfer --to 0x0000000000000000000000000000000000000000`."""

import click
from ape.cli import ConnectedProviderCommand, account_option
from ape.exceptions import ContractLogicError
from rich.table import Table

from synthequity import deployments
from synthequity.admin import (
    ZERO,
    AdminState,
    administered,
    not_administrable,
    to_accept,
    to_propose,
)
from synthequity.deploy import resolve_address
from synthequity.ui import make_console

console = make_console()
DEFAULT_ADMIN = b"\x00" * 32


def _states(network, account) -> list[AdminState]:
    record = deployments.load(deployments.network_key(network))
    targets = administered(record)
    if not targets:
        raise click.ClickException(
            f"nothing deployed on {deployments.network_key(network)}: run `ape run deploy` first"
        )
    states = []
    for t in targets:
        c = deployments.handle(t.contract, t.address)
        states.append(
            AdminState(
                t, bool(c.hasRole(DEFAULT_ADMIN, account)), c.pending_admin(), c.admin_proposer()
            )
        )
    return states


def _table(states: list[AdminState], account) -> None:
    table = Table(title=f"DEFAULT_ADMIN, seen by {account.address}")
    for col in ("contract", "address", "you are admin", "pending admin"):
        table.add_column(col)
    for s in states:
        pending = "-" if s.pending == ZERO else s.pending
        table.add_row(s.target.label, s.target.address, "yes" if s.is_admin else "no", pending)
    console.print(table)


def _send(states: list[AdminState], fn: str, args: tuple, account, yes: bool) -> None:
    if not states:
        console.print("nothing to send")
        return
    what = ", ".join(s.target.label for s in states)
    if not yes and not click.confirm(f"send {fn} to {len(states)} contracts ({what})?"):
        raise click.Abort()
    for k, s in enumerate(states, 1):
        c = deployments.handle(s.target.contract, s.target.address)
        try:
            getattr(c, fn)(*args, sender=account)
        except ContractLogicError as err:
            raise click.ClickException(f"{s.target.label}: {err.message}") from err
        console.print(f"[{k}/{len(states)}] {s.target.label}: {fn} sent")


@click.group()
def cli():
    """Two-step DEFAULT_ADMIN hand-over of a whole deployment."""


@cli.command(cls=ConnectedProviderCommand)
@account_option()
def status(network, account):
    """Who is admin, and what is proposed, on every deployed contract."""
    _table(_states(network, account), account)


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--to", "new_admin", required=True, help="The new admin: address or alias.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def transfer(network, account, new_admin, yes):
    """Propose --to as the admin of every contract the account administers."""
    target = resolve_address(new_admin)  # the zero address withdraws the proposals
    if target.lower() == account.address.lower():
        raise click.ClickException("--to is the account itself: it is already the admin")
    states = _states(network, account)
    missing = not_administrable(states)
    if missing and len(missing) == len(states):
        raise click.ClickException(f"{account.address} is admin of none of these contracts")
    for s in missing:
        console.print(f"skipped {s.target.label}: {account.address} is not its admin")
    _send(to_propose(states, target), "transfer_admin", (target,), account, yes)
    if target != ZERO:
        console.print(f"now run `ape run admin accept` as {target}")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def accept(network, account, yes):
    """Accept every pending proposal naming the account."""
    states = _states(network, account)
    todo = to_accept(states, account.address)
    if not todo:
        raise click.ClickException(f"no contract proposes {account.address} as its admin")
    _send(todo, "accept_admin", (), account, yes)
    _table(_states(network, account), account)
