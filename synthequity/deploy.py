"""Deployment logic shared by `ape run deploy`, the demo and the integration tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak
from rich.table import Table

from synthequity import deployments
from synthequity.constants import DEFAULT_MAX_JUMP_BPS, ORACLE_DECIMALS
from synthequity.model.vault import VaultParams
from synthequity.ui import make_console

console = make_console(stderr=True)


@dataclass
class DeployConfig:
    symbols: list[str] = field(default_factory=lambda: ["TSLA"])
    admin: str | None = None
    reporters: list[str] = field(default_factory=list)
    max_jump_bps: int = DEFAULT_MAX_JUMP_BPS


def resolve_address(who: str) -> str:
    """An address, an Ape account alias, or `TEST::n` (the node's n-th test account)."""
    from ape import accounts
    from eth_utils import is_address, to_checksum_address

    if is_address(who):
        return to_checksum_address(who)
    if who.upper().startswith("TEST::"):
        return accounts.test_accounts[int(who.split("::", 1)[1])].address
    return accounts.load(who).address


def code_hash(address: str) -> str:
    from ape import chain

    return "0x" + keccak(chain.provider.get_code(address)).hex()


def _existing(entry: dict[str, Any], name: str) -> str | None:
    """The recorded address when its code is still there and unchanged."""
    rec = entry.get(name)
    if not rec:
        return None
    from ape import chain

    code = chain.provider.get_code(rec["address"])
    if not code:
        return None  # a fresh local chain: the record is stale
    if code_hash(rec["address"]) != rec["code_hash"]:
        raise RuntimeError(f"{name} at {rec['address']} does not match its recorded code hash")
    return rec["address"]


def deploy_oracle(account: Any, symbol: str, cfg: DeployConfig, entry: dict[str, Any]) -> Any:
    from ape import chain, project

    if addr := _existing(entry, "oracle"):
        console.print(f"[dim]{symbol} oracle already at {addr}: verified, skipped[/]")
        oracle = project.EquityOracle.at(addr)
    else:
        oracle = project.EquityOracle.deploy(
            cfg.admin or account.address,
            ORACLE_DECIMALS,
            f"{symbol} / USD",
            cfg.max_jump_bps,
            sender=account,
        )
        receipt = oracle.creation_metadata.receipt if oracle.creation_metadata else None
        entry["oracle"] = {
            "address": oracle.address,
            "block": receipt.block_number if receipt else chain.blocks.head.number,
            "code_hash": code_hash(oracle.address),
            "params": {"decimals": ORACLE_DECIMALS, "max_jump_bps": cfg.max_jump_bps},
        }
    role = oracle.REPORTER_ROLE()
    for reporter in cfg.reporters:
        if not oracle.hasRole(role, reporter):
            oracle.grantRole(role, reporter, sender=account)
    entry["oracle"]["reporters"] = sorted(
        set(entry["oracle"].get("reporters", [])) | set(cfg.reporters)
    )
    return oracle


def deploy_all(account: Any, cfg: DeployConfig, network: Any) -> dict[str, Any]:
    from ape import chain

    key = deployments.network_key(network)
    data = deployments.load(key)
    data.update(network=key, chain_id=chain.chain_id)
    for symbol in cfg.symbols:
        deploy_oracle(account, symbol, cfg, deployments.market_entry(data, symbol))
    path = deployments.save(key, data)

    table = Table(title=f"synthequity on {key} (chain {chain.chain_id})")
    for col in ("market", "contract", "address", "block"):
        table.add_column(col)
    for symbol, contracts in sorted(data["markets"].items()):
        for name, rec in sorted(contracts.items()):
            table.add_row(symbol, name, rec["address"], str(rec["block"]))
    console.print(table)
    console.print(f"written {path}")
    return data


# ---- vault stack ------------------------------------------------------------------------


@dataclass
class Core:
    """What every market of one collateral token shares."""

    insurance: Any
    factory: Any


def declare(account: Any, container: Any) -> str:
    """Deploy `container` as an ERC-5202 blueprint; its address."""
    receipt = account.declare(container)
    return receipt.contract_address


def deploy_core(account: Any, collateral: Any, admin: str | None = None) -> Core:
    from ape import project

    admin = admin or account.address
    insurance = project.InsuranceFund.deploy(admin, collateral, sender=account)
    factory = project.SynthFactory.deploy(
        admin,
        declare(account, project.SynthVault),
        declare(account, project.SynthToken),
        sender=account,
    )
    return Core(insurance, factory)


def deploy_vault(
    account: Any,
    core: Core,
    collateral: Any,
    oracle: Any,
    symbol: str,
    name: str,
    params: VaultParams | None = None,
    max_age_open: int = 120,
    admin: str | None = None,
) -> Any:
    """Deploy an equity's vault + synth through the factory and register it with the fund
    (`account` must be DEFAULT_ADMIN of both)."""
    from ape import project

    params = params or VaultParams()
    receipt = core.factory.deploy_vault(
        name,
        symbol,
        collateral,
        core.insurance,
        oracle,
        max_age_open,
        params.as_tuple(),
        admin or account.address,
        sender=account,
    )
    vault = project.SynthVault.at(receipt.return_value or core.factory.vaults(symbol))
    core.insurance.grantRole(core.insurance.MARKET_ROLE(), vault, sender=account)
    return vault
