"""Deployment logic shared by `ape run deploy`, the demo and the integration tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak
from rich.table import Table

from synthequity import deployments
from synthequity.constants import (
    DEFAULT_INSURANCE_SEED_USD,
    DEFAULT_MAX_JUMP_BPS,
    ORACLE_DECIMALS,
    ORDERS_ROLE,
)
from synthequity.contracts import at, flat
from synthequity.model.perp import MarketParams
from synthequity.model.vault import VaultParams
from synthequity.ui import make_console

console = make_console(stderr=True)


@dataclass
class DeployConfig:
    symbols: list[str] = field(default_factory=lambda: ["TSLA"])
    admin: str | None = None
    reporters: list[str] = field(default_factory=list)
    max_jump_bps: int = DEFAULT_MAX_JUMP_BPS
    collateral: str | None = None  # the USD stablecoin; a mock is deployed on local chains
    vault_params: VaultParams = field(default_factory=VaultParams)
    perp_params: MarketParams = field(default_factory=MarketParams)
    max_age_open: int = 120
    fund_demo: bool = True  # local chains: mock USD for the demo accounts TEST::2..9
    # USD the new insurance fund starts with: minted (local mock) or sent by the deployer
    insurance_seed_usd: int = DEFAULT_INSURANCE_SEED_USD


RISK_PARAM_NAMES = (
    "mcr_bps",
    "liquidation_ratio_bps",
    "liquidation_penalty_bps",
    "protocol_share_bps",
    "min_debt_usd",
    "stability_fee_bps",
    "debt_ceiling",
)
SYNTH_NAMES = {"TSLA": "Synthetic Tesla", "AAPL": "Synthetic Apple", "NVDA": "Synthetic Nvidia"}


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


def _record(entry: dict[str, Any], name: str, address: str, **params: Any) -> None:
    from ape import chain

    entry[name] = {
        "address": str(address),
        "block": chain.blocks.head.number,
        "code_hash": code_hash(str(address)),
        **({"params": params} if params else {}),
    }


def _ensure(
    entry: dict[str, Any], name: str, container: Any, deploy: Any, label: str = "", **params: Any
) -> Any:
    """Verify-and-reuse what `entry` records, or deploy it and record it."""
    if addr := _existing(entry, name):
        console.print(f"[dim]{label or name} already at {addr}: verified, skipped[/]")
        return container.at(addr)
    contract = deploy()
    _record(entry, name, contract.address, **params)
    return contract


def deploy_oracle(account: Any, symbol: str, cfg: DeployConfig, entry: dict[str, Any]) -> Any:
    from ape import project

    oracle = _ensure(
        entry,
        "oracle",
        project.EquityOracle,
        lambda: project.EquityOracle.deploy(
            cfg.admin or account.address,
            ORACLE_DECIMALS,
            f"{symbol} / USD",
            cfg.max_jump_bps,
            sender=account,
        ),
        label=f"{symbol} oracle",
        decimals=ORACLE_DECIMALS,
        max_jump_bps=cfg.max_jump_bps,
    )
    role = oracle.REPORTER_ROLE()
    for reporter in cfg.reporters:
        if not oracle.hasRole(role, reporter):
            oracle.grantRole(role, reporter, sender=account)
    entry["oracle"]["reporters"] = sorted(
        set(entry["oracle"].get("reporters", [])) | set(cfg.reporters)
    )
    return oracle


def deploy_all(account: Any, cfg: DeployConfig, network: Any) -> dict[str, Any]:
    """Collateral (a mock on local chains), insurance fund, factory, then per equity its
    oracle, vault (+ synth) and perp market (+ pool). Re-running verifies and skips what
    exists."""
    from ape import chain, project

    key = deployments.network_key(network)
    data = deployments.load(key)
    genesis = chain.blocks[0].hash.hex()
    if data.get("genesis") not in (None, genesis):
        console.print(
            f"[yellow]{key}: a different chain than the one recorded (restarted "
            "local node?): previous records discarded[/]"
        )
        data = {"network": key, "markets": {}}
    data.update(network=key, chain_id=chain.chain_id, genesis=genesis)
    shared = data.setdefault("core", {})
    admin = cfg.admin or account.address

    if cfg.collateral:
        shared["collateral"] = {
            "address": cfg.collateral,
            "block": None,
            "code_hash": code_hash(cfg.collateral),
        }
        collateral = at(project.MockStablecoin, cfg.collateral)  # ERC-20 reads only
    elif network.is_local:
        collateral = _ensure(
            shared,
            "collateral",
            project.MockStablecoin,
            lambda: project.MockStablecoin.deploy("Mock USD", "mUSD", 6, sender=account),
        )
    else:
        raise SystemExit(
            "--collateral ADDRESS (the USD stablecoin) is required on a public network"
        )

    if network.is_local and not cfg.collateral and cfg.fund_demo:
        _fund_demo_accounts(account, collateral, data)
    mock = network.is_local and not cfg.collateral
    seed_units = cfg.insurance_seed_usd * 10 ** int(collateral.decimals())
    new_fund = not (_existing(shared, "insurance") and _existing(shared, "factory"))
    if new_fund and not mock and int(collateral.balanceOf(account)) < seed_units:
        raise SystemExit(
            f"the insurance fund's seed needs {cfg.insurance_seed_usd:,} USD of the collateral "
            f"in {account.address}; fund it, or pass --insurance-seed 0 (docs/risk.md)"
        )

    def core() -> Core:
        return deploy_core(account, collateral, admin)

    if not new_fund:
        console.print("[dim]insurance fund and factory already deployed: verified, skipped[/]")
        stack = Core(
            at(project.InsuranceFund, shared["insurance"]["address"]),
            at(project.SynthFactory, shared["factory"]["address"]),
        )
    else:
        stack = core()
        if seed_units:
            _seed_insurance(account, collateral, stack.insurance, seed_units, mock)
        _record(shared, "insurance", stack.insurance.address, seed_usd=cfg.insurance_seed_usd)
        _record(shared, "factory", stack.factory.address)

    for symbol in cfg.symbols:
        entry = deployments.market_entry(data, symbol)
        oracle = deploy_oracle(account, symbol, cfg, entry)
        synth_symbol = f"s{symbol}"[:5]
        existing = str(stack.factory.vaults(synth_symbol))
        if int(existing, 16):
            for name in ("vault", "vault_ext"):
                _existing(entry, name)  # raises if the recorded code changed
            console.print(f"[dim]{synth_symbol} vault already at {existing}: verified, skipped[/]")
            vault = at(project.SynthVault, existing)
        else:
            name = SYNTH_NAMES.get(symbol, f"Synthetic {symbol}")[:25]
            vault = deploy_vault(
                account,
                stack,
                collateral,
                oracle,
                synth_symbol,
                name,
                cfg.vault_params,
                cfg.max_age_open,
                admin,
            )
        if entry.get("vault", {}).get("address") != vault.address:
            params = dict(zip(RISK_PARAM_NAMES, vault.risk_params(), strict=True))
            _record(entry, "vault", vault.address, **params)
            _record(entry, "synth", vault.SYNTH())
            _record(entry, "vault_ext", vault.EXTENSION())
        _ensure(
            entry,
            "stability_pool",
            project.StabilityPool,
            lambda vault=vault: deploy_stability_pool(account, vault),
            f"{synth_symbol} stability pool",
        )
        existing = str(stack.factory.perps(symbol))
        if int(existing, 16):
            for name in ("perp", "perp_ext"):
                _existing(entry, name)
            console.print(f"[dim]{symbol} perp already at {existing}: verified, skipped[/]")
            market = at(project.PerpMarket, existing)
        else:
            _, market = deploy_perp(
                account, stack, collateral, oracle, symbol, cfg.perp_params, cfg.max_age_open, admin
            )
        if entry.get("perp", {}).get("address") != market.address:
            _record(entry, "perp", market.address)
            _record(entry, "pool", market.POOL())
            _record(entry, "perp_ext", market.EXTENSION())
        _ensure(
            entry,
            "perp_orders",
            project.PerpOrders,
            lambda market=market: deploy_perp_orders(account, market),
            f"{symbol} conditional orders",
        )
    path = deployments.save(key, data)

    table = Table(title=f"synthequity on {key} (chain {chain.chain_id})")
    for col in ("market", "contract", "address", "block"):
        table.add_column(col)
    for name, rec in sorted(shared.items()):
        table.add_row("(shared)", name, rec["address"], str(rec["block"]))
    for symbol, contracts in sorted(data["markets"].items()):
        for name, rec in sorted(contracts.items()):
            table.add_row(symbol, name, rec["address"], str(rec["block"]))
    console.print(table)
    params = Table(title="risk parameters")
    for col in ("market", "MCR", "liquidation", "IMR (max lev.)", "MMR", "price max age"):
        params.add_column(col, justify="right")
    for symbol in cfg.symbols:
        entry = data["markets"][symbol]
        vault = at(project.SynthVault, entry["vault"]["address"])
        market = at(project.PerpMarket, entry["perp"]["address"])
        mcr, liq = flat(vault.risk_params())[:2]
        imr, mmr = flat(market.params()[0])[3:5]
        params.add_row(
            symbol,
            f"{mcr / 100:g}%",
            f"{liq / 100:g}%",
            f"{imr / 100:g}% ({10_000 / imr:g}x)",
            f"{mmr / 100:g}%",
            f"{int(vault.max_age_open())} s",
        )
    console.print(params)
    console.print(f"written {path}")
    return data


def _seed_insurance(account: Any, collateral: Any, insurance: Any, units: int, mock: bool) -> None:
    """The new fund's starting balance: minted by the local mock, else sent by the deployer."""
    if mock:
        collateral.faucet(insurance, units, sender=account)
    else:
        collateral.transfer(insurance, units, sender=account)
    unit = 10 ** int(collateral.decimals())
    console.print(f"insurance fund seeded with {units / unit:,.0f} USD")


DEMO_ACCOUNTS = range(2, 10)  # TEST::2..9: borrowers, traders, LPs of the README's examples
DEMO_USD = 100_000


def _fund_demo_accounts(account: Any, collateral: Any, data: dict[str, Any]) -> None:
    """Mock USD for the local demo accounts, once (an account that holds some is skipped)."""
    from ape import accounts

    unit = 10 ** int(collateral.decimals())
    funded = []
    for i in DEMO_ACCOUNTS:
        who = accounts.test_accounts[i]
        if int(collateral.balanceOf(who)) == 0:
            collateral.faucet(who, DEMO_USD * unit, sender=account)
            funded.append(f"TEST::{i}")
    data["demo_accounts"] = {f"TEST::{i}": accounts.test_accounts[i].address for i in DEMO_ACCOUNTS}
    if funded:
        console.print(f"funded {', '.join(funded)} with {DEMO_USD:,} mock USD each")


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
    codec = project.PerpParamsCodec.deploy(sender=account)
    factory = project.SynthFactory.deploy(
        admin,
        declare(account, project.SynthVault),
        declare(account, project.SynthToken),
        declare(account, project.PerpMarket),
        declare(account, project.LiquidityPool),
        codec,
        declare(account, project.SynthVaultExt),
        declare(account, project.PerpMarketExt),
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
    vault = at(project.SynthVault, receipt.return_value or core.factory.vaults(symbol))
    core.insurance.grantRole(core.insurance.MARKET_ROLE(), vault, sender=account)
    return vault


def deploy_stability_pool(account: Any, vault: Any) -> Any:
    """The vault's stability pool (it needs no role: it liquidates through the vault's public
    `liquidate_for` with its own synth)."""
    from ape import project

    return project.StabilityPool.deploy(vault, vault.SYNTH(), vault.COLLATERAL(), sender=account)


def deploy_perp_orders(account: Any, market: Any) -> Any:
    """The market's conditional-order book (`PerpOrders`, its least fee the market's order
    keeper fee), given ORDERS_ROLE on the market when `account` administers it; otherwise
    the admin must grant it (the book's orders cannot be placed until then)."""
    from ape import project

    orders = project.PerpOrders.deploy(market, market.params()[2], sender=account)
    if market.hasRole(b"\x00" * 32, account.address):
        market.grantRole(ORDERS_ROLE, orders, sender=account)
    else:
        console.print(
            f"[yellow]grant ORDERS_ROLE (0x{ORDERS_ROLE.hex()}) on {market.address} to "
            f"{orders.address} from the market's admin[/]"
        )
    return orders


def deploy_perp(
    account: Any,
    core: Core,
    collateral: Any,
    oracle: Any,
    symbol: str,
    params: Any = None,
    max_age_open: int = 120,
    admin: str | None = None,
) -> tuple[Any, Any]:
    """An equity's perp market and its liquidity pool through the factory (which attaches the
    pool and hands it to `admin`), then the market registered with the insurance fund
    (`account` must be DEFAULT_ADMIN of the factory and of the fund)."""
    from ape import project

    params = params or MarketParams()
    core.factory.deploy_perp(
        symbol,
        f"synthequity {symbol} LP"[:25],
        "sqLP",
        collateral,
        core.insurance,
        oracle,
        max_age_open,
        params.as_tuple(),
        admin or account.address,
        sender=account,
    )
    market = at(project.PerpMarket, core.factory.perps(symbol))
    pool = at(project.LiquidityPool, core.factory.pool_of(market))
    core.insurance.grantRole(core.insurance.MARKET_ROLE(), market, sender=account)
    return pool, market
