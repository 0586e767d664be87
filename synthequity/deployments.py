"""`deployments/<network>.json`: what is deployed where (addresses, blocks, code hashes,
parameters). Written by `ape run deploy`; read by keepers, user and admin commands, reports and
the simulation through one typed loader, `MarketContracts.load(network, symbol)`, which never
deploys anything.

A record holds the shared contracts under "core" and one entry per equity under
"markets"; each contract is `{"address", "block", "code_hash", ...}` under its record key.
`CONTRACT_KINDS` maps a record key to the project's contract type: a new kind of contract (a
lens, a router) is one line there."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Kind:
    """What a record key holds: the project's contract type, and whether it has roles (its
    DEFAULT_ADMIN changes hands with `ape run admin`)."""

    contract: str
    administered: bool = False


# record key -> contract kind; "core" keys first, then per-market keys, in the order the admin
# commands list them. The collateral is any ERC-20: the mock's ABI is the standard one.
CORE_KINDS: dict[str, Kind] = {
    "collateral": Kind("MockStablecoin"),
    "insurance": Kind("InsuranceFund", administered=True),
    "factory": Kind("SynthFactory", administered=True),
}
MARKET_KINDS: dict[str, Kind] = {
    "oracle": Kind("EquityOracle", administered=True),
    "vault": Kind("SynthVault", administered=True),
    "synth": Kind("SynthToken"),
    "stability_pool": Kind("StabilityPool"),
    "perp": Kind("PerpMarket", administered=True),
    "pool": Kind("LiquidityPool", administered=True),
    "perp_orders": Kind("PerpOrders"),  # the market's conditional-order book
    # the deployables' delegated extensions (docs/architecture.md): recorded so that their
    # code is verified on a re-deploy; reached through "vault" and "perp", never directly
    "vault_ext": Kind("SynthVaultExt"),
    "perp_ext": Kind("PerpMarketExt"),
}
CONTRACT_KINDS: dict[str, Kind] = {**CORE_KINDS, **MARKET_KINDS}


def deployments_dir() -> Path:
    """`deployments/`, or `$SYNTHEQUITY_DEPLOYMENTS_DIR` (tests keep the work tree clean)."""
    return Path(os.environ.get("SYNTHEQUITY_DEPLOYMENTS_DIR", "deployments"))


def network_key(network: Any) -> str:
    """`ethereum-local`, `arbitrum-sepolia`, ... from an Ape network object."""
    return f"{network.ecosystem.name}-{network.name}"


def path_for(key: str, root: Path | None = None) -> Path:
    return (root or deployments_dir()) / f"{key}.json"


def load(key: str, root: Path | None = None) -> dict[str, Any]:
    p = path_for(key, root)
    if not p.exists():
        return {"network": key, "markets": {}}
    return json.loads(p.read_text())


def save(key: str, data: dict[str, Any], root: Path | None = None) -> Path:
    p = path_for(key, root)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return p


def market_entry(data: dict[str, Any], symbol: str) -> dict[str, Any]:
    return data.setdefault("markets", {}).setdefault(symbol.upper(), {})


def _missing(what: str, key: str, root: Path | None = None) -> LookupError:
    return LookupError(f"{what} in {path_for(key, root)}: run `ape run deploy` first")


@dataclass(frozen=True)
class MarketContracts:
    """One equity's deployed contracts as Ape handles, read from `deployments/<network>.json`
    (nothing is deployed here). A handle is None where the record lacks it (a market deployed
    halfway, a record written before that kind existed); `need(key)` raises instead. A kind
    in `CONTRACT_KINDS` without a field of its own (a lens next to the perp) is in `extras`
    and reads as an attribute all the same (`contracts.perp_lens`); `contract(key, type)`
    builds anything else the record names."""

    network: str  # the record's key: "ethereum-local", "arbitrum-sepolia", ...
    symbol: str
    oracle: Any
    vault: Any | None = None
    synth: Any | None = None
    perp: Any | None = None
    pool: Any | None = None
    collateral: Any | None = None
    insurance: Any | None = None
    factory: Any | None = None
    entry: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the market's record
    core: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the shared contracts
    extras: Mapping[str, Any] = field(default_factory=dict)  # record key -> handle

    @classmethod
    def load(cls, network: Any, symbol: str, root: Path | None = None) -> MarketContracts:
        """`symbol`'s contracts on `network` (an Ape network or a record key); LookupError
        when nothing is recorded for it."""
        key = network if isinstance(network, str) else network_key(network)
        if not path_for(key, root).exists():
            raise _missing(f"nothing deployed on {key}: no record", key, root)
        return cls.from_record(load(key, root), symbol, key)

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], symbol: str, key: str | None = None
    ) -> MarketContracts:
        key = key or str(record.get("network", "?"))
        symbol = symbol.upper()
        entry = record.get("markets", {}).get(symbol)
        if not entry or "oracle" not in entry:
            raise _missing(f"no {symbol} market", key)
        core = record.get("core", {})
        handles = {k: _recorded(k, entry) for k in MARKET_KINDS if k in entry}
        handles |= {k: _recorded(k, core) for k in CORE_KINDS if k in core}
        own = {f.name for f in fields(cls)}
        extras = {k: h for k, h in handles.items() if k not in own}
        named = {k: h for k, h in handles.items() if k in own}
        return cls(network=key, symbol=symbol, entry=entry, core=core, extras=extras, **named)

    def __getattr__(self, key: str) -> Any:  # only for what is not a field: the extras
        extras = self.__dict__.get("extras") or {}
        if key in extras:
            return extras[key]
        raise AttributeError(f"{type(self).__name__} has no {key!r} (not in the record)")

    def need(self, key: str) -> Any:
        """The handle for `key` (a field, an extra, or any contract the record names);
        LookupError when the record lacks it."""
        got = getattr(self, key, None) if key in CONTRACT_KINDS else None
        return got if got is not None else self.contract(key)

    def contract(self, key: str, contract_type: str | None = None) -> Any:
        """Any contract the market's record (or the shared part) names under `key`, typed by
        `CONTRACT_KINDS` or by `contract_type` (a project contract name)."""
        rec = self.entry.get(key) or self.core.get(key)
        if not rec:
            raise _missing(f"no {key} for {self.symbol}", self.network)
        name = contract_type or (CONTRACT_KINDS[key].contract if key in CONTRACT_KINDS else None)
        if name is None:
            raise LookupError(f"{key}: unknown contract kind; add it to deployments.CONTRACT_KINDS")
        return handle(name, rec["address"])

    def address(self, key: str) -> str:
        rec = self.entry.get(key) or self.core.get(key)
        if not rec:
            raise _missing(f"no {key} for {self.symbol}", self.network)
        return str(rec["address"])

    def block(self, key: str) -> int | None:
        """The block `key` was deployed in, as recorded (None: unknown, e.g. a given token)."""
        rec = self.entry.get(key) or self.core.get(key) or {}
        return None if rec.get("block") is None else int(rec["block"])


def _recorded(key: str, where: Mapping[str, Any]) -> Any:
    return handle(CONTRACT_KINDS[key].contract, where[key]["address"])


def handle(contract: str, address: str) -> Any:
    """The project's `contract` (its name, e.g. "PerpMarket") at `address`, typed as asked
    (`contracts.at`): how every handle on a recorded contract is built."""
    from ape import project

    from synthequity.contracts import at

    return at(getattr(project, contract), address)
