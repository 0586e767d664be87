"""Handing DEFAULT_ADMIN over across a whole deployment (docs/runbooks/admin.md): every
administered contract recorded in `deployments/<network>.json` changes hands in two steps —
the current admin proposes (`transfer_admin`), the new admin (a multisig, a timelock) accepts
(`accept_admin`). The decisions are pure functions over plain data; `scripts/admin.py` reads
the chain and sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthequity.deployments import CORE_KINDS, MARKET_KINDS

ZERO = "0x" + "00" * 20

# deployments record key -> the deployable's contract name, for every contract with roles
# (the kinds themselves are listed once, in `deployments.CONTRACT_KINDS`)
CORE = {key: kind.contract for key, kind in CORE_KINDS.items() if kind.administered}
PER_MARKET = {key: kind.contract for key, kind in MARKET_KINDS.items() if kind.administered}


@dataclass(frozen=True)
class Administered:
    label: str  # "factory", "TSLA vault", ...
    contract: str  # contract name in the project
    address: str


@dataclass(frozen=True)
class AdminState:
    target: Administered
    is_admin: bool  # the acting account holds DEFAULT_ADMIN
    pending: str  # proposed next admin (ZERO: none)
    proposer: str


def administered(record: dict[str, Any]) -> list[Administered]:
    """Every contract with roles in a deployments record, shared ones first."""
    out = [
        Administered(key, name, record["core"][key]["address"])
        for key, name in CORE.items()
        if key in record.get("core", {})
    ]
    for symbol, entry in sorted(record.get("markets", {}).items()):
        out += [
            Administered(f"{symbol} {key}", name, entry[key]["address"])
            for key, name in PER_MARKET.items()
            if key in entry
        ]
    return out


def to_propose(states: list[AdminState], new_admin: str) -> list[AdminState]:
    """Where the acting admin still has to propose `new_admin` (skips what is already
    proposed, so that re-running after an interruption sends only the rest)."""
    new = new_admin.lower()
    return [s for s in states if s.is_admin and s.pending.lower() != new]


def to_accept(states: list[AdminState], account: str) -> list[AdminState]:
    """Where `account` is the proposed admin."""
    return [s for s in states if s.pending.lower() == account.lower()]


def not_administrable(states: list[AdminState]) -> list[AdminState]:
    """Contracts the acting account cannot propose for (it does not hold DEFAULT_ADMIN)."""
    return [s for s in states if not s.is_admin]
