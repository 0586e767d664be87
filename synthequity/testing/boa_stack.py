"""The vault stack deployed straight into titanoboa (no Ape, no node) for the property and
state-machine tests: ~1,000s of transactions per second instead of ~40."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import boa
from boa.interpret import set_cache_dir

from synthequity.model.vault import VaultParams

ROOT = Path(__file__).resolve().parents[2]


def _use_content_keyed_cache() -> None:
    """Point titanoboa's compile cache at a directory named by the hash of every contract,
    interface and the snekmate version. Its own key covers a contract's source and its
    direct imports only (vyper 0.4.3 hands it `ModuleInfo`, not `ModuleT`, so it does not
    recurse): an edit to `oracle_guard`, imported by `synth_vault`, imported by
    `SynthVault`, would otherwise reuse `SynthVault`'s stale bytecode."""
    h = hashlib.sha256(metadata.version("snekmate").encode())
    for folder, pattern in (("contracts", "*.vy"), ("interfaces", "*.vyi")):
        for f in sorted((ROOT / folder).rglob(pattern)):
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    set_cache_dir(str(Path("~/.cache/titanoboa").expanduser() / f"sq-{h.hexdigest()[:16]}"))


_use_content_keyed_cache()

SRC = {
    "oracle": "contracts/oracle/EquityOracle.vy",
    "stablecoin": "contracts/mocks/MockStablecoin.vy",
    "hostile": "contracts/mocks/HostileToken.vy",
    "insurance": "contracts/insurance/InsuranceFund.vy",
    "factory": "contracts/factory/SynthFactory.vy",
    "vault": "contracts/vault/SynthVault.vy",
    "synth": "contracts/tokens/SynthToken.vy",
    "perp": "contracts/perp/PerpMarket.vy",
    "perp_ext": "contracts/perp/PerpMarketExt.vy",
    "vault_ext": "contracts/vault/SynthVaultExt.vy",
    "stability_pool": "contracts/vault/StabilityPool.vy",
    "pool": "contracts/perp/LiquidityPool.vy",
    "codec": "contracts/perp/PerpParamsCodec.vy",
    "perp_orders": "contracts/perp/PerpOrders.vy",
}


@cache
def deployer(name: str) -> Any:
    """Compiled once per process."""
    return boa.load_partial(SRC[name])


@cache
def _abi(name: str) -> list[dict[str, Any]]:
    from vyper.compiler.output import build_abi_output

    return build_abi_output(deployer(name).compiler_data)


@dataclass
class VaultStack:
    admin: str
    reporter: str
    oracle: Any
    collateral: Any
    insurance: Any
    factory: Any
    vault: Any
    synth: Any
    stability_pool: Any = None  # the vault's `StabilityPool` (it needs no role)

    @property
    def usd_per_unit(self) -> int:
        return 10 ** (18 - self.collateral.decimals())


def deploy_factory(admin: str) -> Any:
    """The factory with every blueprint, deployed by (and administered by) `admin`; call it
    under `boa.env.prank(admin)`."""
    return deployer("factory").deploy(
        admin,
        deployer("vault").deploy_as_blueprint(),
        deployer("synth").deploy_as_blueprint(),
        deployer("perp").deploy_as_blueprint(),
        deployer("pool").deploy_as_blueprint(),
        deployer("codec").deploy(),
        deployer("vault_ext").deploy_as_blueprint(),
        deployer("perp_ext").deploy_as_blueprint(),
    )


# A deployable whose cold paths run in an extension reached through `__default__`
# (docs/architecture.md): its handle gets the extension's functions too.
_EXTENDED = {"perp": "perp_ext", "vault": "vault_ext"}


def contract_at(name: str, address: Any) -> Any:
    """The contract `name` (a key of `SRC`) at `address`; for the market and the vault, with
    every function of the extension callable on the same handle."""
    import json

    from synthequity.contracts import merge_abis

    handle = deployer(name).at(address)
    ext = _EXTENDED.get(name)
    if ext is None:
        return handle
    own = _abi(name)
    extra = merge_abis(own, _abi(ext))[len(own) :]
    # the whole interface at the deployable's address (the extension's, then the rest of the
    # deployable's): the handle boa last registered there decodes every event of both
    whole = merge_abis(_abi(ext), own)
    ext_view = boa.loads_abi(json.dumps(whole), name=f"{name} (extension)").at(address)
    for entry in extra:
        if entry["type"] == "function":
            setattr(handle, entry["name"], getattr(ext_view, entry["name"]))
    return handle


def deploy_vault_stack(
    decimals: int = 6,
    params: VaultParams | None = None,
    collateral: Any | None = None,
    max_age_open: int = 120,
) -> VaultStack:
    admin = boa.env.generate_address("admin")
    reporter = boa.env.generate_address("reporter")
    with boa.env.prank(admin):
        oracle = deployer("oracle").deploy(admin, 8, "TSLA / USD", 2_500)
        oracle.grantRole(oracle.REPORTER_ROLE(), reporter)
        oracle.grantRole(oracle.RISK_ADMIN_ROLE(), admin)
        token = collateral or deployer("stablecoin").deploy("Mock USD", "mUSD", decimals)
        insurance = deployer("insurance").deploy(admin, token)
        factory = deploy_factory(admin)
        address = factory.deploy_vault(
            "Synthetic Tesla",
            "sTSLA",
            token,
            insurance,
            oracle,
            max_age_open,
            (params or VaultParams()).as_tuple(),
            admin,
        )
        vault = contract_at("vault", address)
        insurance.grantRole(insurance.MARKET_ROLE(), vault)
        vault.grantRole(vault.RISK_ADMIN_ROLE(), admin)
        vault.grantRole(vault.GUARDIAN_ROLE(), admin)
    synth = deployer("synth").at(vault.SYNTH())
    pool = deployer("stability_pool").deploy(vault, synth, token)
    return VaultStack(admin, reporter, oracle, token, insurance, factory, vault, synth, pool)
