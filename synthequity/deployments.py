"""`deployments/<network>.json`: what is deployed where (addresses, blocks, code hashes,
parameters). Written by `ape run deploy`, read by keepers and user commands."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


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


def address_of(data: dict[str, Any], symbol: str, contract: str) -> str:
    try:
        return data["markets"][symbol.upper()][contract]["address"]
    except KeyError as exc:
        raise LookupError(
            f"no {contract} for {symbol.upper()} in deployments/{data.get('network')}.json: "
            "run `ape run deploy` first"
        ) from exc
