"""The role matrix (issue 8, docs/spec.md §8): every state-changing function of every deployable,
read from its ABI, is classified here as open to anyone or behind one gate. For each gated
function every role-named actor that does not pass the gate is refused with the gate's reason,
and every actor that does is not refused for its role. A function added to a contract without a
row here fails `test_every_mutating_function_is_classified`.
"""

from __future__ import annotations

from typing import Any

import ape
import pytest
from ape.exceptions import ContractLogicError
from eth_utils import keccak

DEFAULT_ADMIN = b"\x00" * 32
RISK_ADMIN_ROLE = keccak(text="RISK_ADMIN")
MISSING = "access_control: account is missing role"

ANYONE = "anyone"
ADMIN = "DEFAULT_ADMIN"
RISK = "RISK_ADMIN"
GUARDIAN = "GUARDIAN"
REPORTER = "REPORTER"
REPORTER_OR_ADMIN = "REPORTER or DEFAULT_ADMIN"  # a dividend: the keeper stages, the admin too
PENDING = "pending admin"
ONLY_VAULT = "the synth's vault"
ONLY_MARKET = "the pool's market"
INSURED = "a market with MARKET_ROLE"
PERP_DELEGATED = "the perp market's delegatecall"
VAULT_DELEGATED = "the vault's delegatecall"
ORDERS = "ORDERS"  # the market's conditional-order book (a contract: no actor holds it)

# gate -> the reason a refused caller sees
REASONS = {
    ADMIN: MISSING,
    RISK: MISSING,
    GUARDIAN: MISSING,
    ORDERS: MISSING,
    REPORTER: "oracle: not reporter",
    REPORTER_OR_ADMIN: "oracle: not reporter",
    PENDING: "roles: not pending admin",
    ONLY_VAULT: "synth: only vault",
    ONLY_MARKET: "pool: only market",
    INSURED: "insurance: not a market",
    PERP_DELEGATED: "perp: delegate only",
    VAULT_DELEGATED: "vault: delegate only",
}

ROLES = {
    # grantRole / revokeRole / set_role_admin are called on RISK_ADMIN, whose admin role is
    # DEFAULT_ADMIN; grantRole refuses DEFAULT_ADMIN itself (tests/unit/test_admin_transfer.py)
    "grantRole": ADMIN,
    "revokeRole": ADMIN,
    "set_role_admin": ADMIN,
    "renounceRole": ANYONE,  # one's own roles only
    "transfer_admin": ADMIN,
    "accept_admin": PENDING,
}
ERC20 = {f: ANYONE for f in ("transfer", "transferFrom", "approve", "permit")}

MATRIX: dict[str, dict[str, str]] = {
    "SynthFactory": {**ROLES, "deploy_vault": ADMIN, "deploy_perp": ADMIN},
    "InsuranceFund": {**ROLES, "cover": INSURED},
    "EquityOracle": {
        **ROLES,
        "push_price": REPORTER,
        "stage_split": ADMIN,
        "cancel_split": ADMIN,
        "stage_dividend": REPORTER_OR_ADMIN,
        "confirm_dividend": ADMIN,
        "cancel_dividend": ADMIN,
        "clear_suspect": RISK,
        "set_max_jump_bps": RISK,
        "set_escalation": RISK,
    },
    "SynthVault": {
        **ROLES,
        **{f: ANYONE for f in ("deposit", "withdraw", "mint", "burn", "open", "close")},
        **{f: ANYONE for f in ("liquidate", "settle_position", "redeem", "redeem_fees")},
        "buy_fee_synth": ANYONE,
        "liquidate_for": ANYONE,  # the caller repays; it only chooses who gets the reward
        "settle": ADMIN,
        "set_risk_params": RISK,
        "set_max_age_open": RISK,
        "unpause": RISK,
        "lower_debt_ceiling": GUARDIAN,
        "pause": GUARDIAN,
    },
    "SynthToken": {**ERC20, "mint": ONLY_VAULT, "burn": ONLY_VAULT},
    "PerpMarket": {
        **ROLES,
        **{f: ANYONE for f in ("deposit_margin", "withdraw_margin", "commit_order")},
        **{f: ANYONE for f in ("execute_order", "cancel_order", "liquidate", "settle_position")},
        "sweep_insurance": ANYONE,
        "hold_order": ORDERS,
        "settle": ADMIN,
        "set_params": RISK,
        "unpause": RISK,
        "pause": GUARDIAN,
    },
    "LiquidityPool": {
        **ROLES,
        **ERC20,
        **{f: ANYONE for f in ("deposit", "mint", "withdraw", "redeem")},
        "pay": ONLY_MARKET,
        "set_deposit_lock_s": RISK,
        "set_market": ADMIN,  # or the pool's deployer (the factory), once
    },
    "PerpParamsCodec": {},  # stateless: views only
    # anyone places, updates and cancels their own orders, and executes anyone's triggered
    # one (the checks are the order's, not a role's: tests/unit/test_conditional_orders.py)
    "PerpOrders": {f: ANYONE for f in ("place", "update", "cancel", "execute")},
}
# An extension runs only in its deployable's storage, by delegatecall (docs/architecture.md):
# called directly, every state-changing function refuses. What it does through its
# deployable is classified in the deployable's row (the merged interface).
for _ext, _own, _gate in (
    ("PerpMarketExt", "PerpMarket", PERP_DELEGATED),
    ("SynthVaultExt", "SynthVault", VAULT_DELEGATED),
):
    MATRIX[_ext] = {f: _gate for f in (*MATRIX[_own], "initialize")}
    for _f in ("deposit_margin", "commit_order", "execute_order", "liquidate"):
        MATRIX[_ext].pop(_f, None)  # the hot paths run in the deployable itself
    for _f in (
        *("deposit", "withdraw", "mint", "burn", "open", "close"),
        *("liquidate", "liquidate_for"),
    ):  # (the Ext's `redeem` is the post-delisting one: delegated only, classified)
        if _ext == "SynthVaultExt":
            MATRIX[_ext].pop(_f, None)

# roles do not depend on the collateral's decimals: one variant
pytestmark = pytest.mark.parametrize("stablecoin", [6], ids=["usdc6"], indirect=True)

ACTORS = ("admin", "risk_admin", "guardian", "reporter", "keeper", "outsider")
GATED = [(c, f) for c, fns in MATRIX.items() for f, gate in fns.items() if gate != ANYONE]
OPEN = [(c, f) for c, fns in MATRIX.items() for f, gate in fns.items() if gate == ANYONE]


@pytest.fixture
def actors(request) -> dict[str, Any]:
    return {name: request.getfixturevalue(name) for name in ACTORS}


def _mutating(contract) -> list[Any]:
    return [
        abi
        for abi in contract.contract_type.abi
        if abi.type == "function" and abi.stateMutability not in ("view", "pure")
    ]


def _value(t: Any, anyone: Any) -> Any:
    """A well-typed argument: role checks come first, so any value reaches them."""
    kind = t.type
    if kind.endswith("]"):
        return []
    if kind == "tuple":
        return tuple(_value(c, anyone) for c in t.components)
    if kind.startswith(("uint", "int")):
        return 1
    if kind == "address":
        return anyone.address
    if kind == "bool":
        return False
    if kind == "string":
        return "X"
    if kind == "bytes32":
        return RISK_ADMIN_ROLE
    if kind.startswith("bytes"):
        return b"\x00" * (int(kind[5:]) if kind[5:] else 1)
    raise AssertionError(f"no default for {kind}")


def _call(contract, fn: str, actor, anyone) -> str | None:
    """Send `fn` from `actor`; the revert reason, or None when it went through."""
    # (overloads from default arguments: the full signature)
    abi = max((a for a in _mutating(contract) if a.name == fn), key=lambda a: len(a.inputs))
    args = [_value(i, anyone) for i in abi.inputs]
    if fn == "renounceRole":
        args[1] = actor.address  # one's own
    try:
        getattr(contract, fn)(*args, sender=actor)
    except ContractLogicError as err:
        return str(err.message)
    return None


def _passes(contract, gate: str, actor) -> bool:
    if gate == ADMIN:
        return contract.hasRole(DEFAULT_ADMIN, actor)
    if gate in (RISK, GUARDIAN, REPORTER, ORDERS):
        return contract.hasRole(keccak(text=gate), actor)
    if gate == REPORTER_OR_ADMIN:
        return _passes(contract, REPORTER, actor) or _passes(contract, ADMIN, actor)
    if gate == PENDING:
        return contract.pending_admin() == actor.address
    return False  # contract-only gates and direct calls of an extension: no account passes


def test_every_mutating_function_is_classified(deployables):
    for name, contract in deployables.items():
        in_abi = {abi.name for abi in _mutating(contract)}
        assert in_abi == set(MATRIX[name]), name


@pytest.mark.parametrize("name, fn", GATED, ids=[f"{c}.{f}" for c, f in GATED])
def test_only_the_gate_passes(deployables, actors, name, fn):
    contract = deployables[name]
    gate = MATRIX[name][fn]
    reason = REASONS[gate]
    holders = [a for a in ACTORS if _passes(contract, gate, actors[a])]
    refused = [a for a in ACTORS if a not in holders]
    for who in refused:  # first: a holder's call may change state
        assert _call(contract, fn, actors[who], actors["outsider"]) == reason, (fn, who)
    for who in holders:
        got = _call(contract, fn, actors[who], actors["outsider"])
        assert got is None or reason not in got, (fn, who, got)
    if gate in (ADMIN, RISK, GUARDIAN, REPORTER, REPORTER_OR_ADMIN):
        assert holders, f"no actor holds {gate} on {name}: the matrix tested nothing"


@pytest.mark.parametrize("name, fn", OPEN, ids=[f"{c}.{f}" for c, f in OPEN])
def test_open_functions_check_no_role(deployables, actors, name, fn):
    got = _call(deployables[name], fn, actors["outsider"], actors["keeper"])
    assert got is None or not any(r in got for r in REASONS.values()), (fn, got)


def test_the_guardian_can_only_reduce_risk(deployables, guardian):
    """What the guardian passes is exactly pausing and lowering the debt ceiling; lowering
    can never raise it, and unpausing is the risk admin's."""
    admitted = sorted((c, f) for c, f in GATED if _passes(deployables[c], MATRIX[c][f], guardian))
    assert admitted == [
        ("PerpMarket", "pause"),
        ("SynthVault", "lower_debt_ceiling"),
        ("SynthVault", "pause"),
    ]
    vault = deployables["SynthVault"]
    ceiling = vault.debt_ceiling()
    for not_lower in (ceiling, ceiling + 1):
        with ape.reverts("vault: not lower"):
            vault.lower_debt_ceiling(not_lower, sender=guardian)
    vault.lower_debt_ceiling(ceiling - 1, sender=guardian)
    assert vault.debt_ceiling() == ceiling - 1
