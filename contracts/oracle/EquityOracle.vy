# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title EquityOracle
@custom:contract-name EquityOracle
@notice A push oracle for one equity (e.g. TSLA / USD), readable as a Chainlink
        `AggregatorV3Interface`, with the market's session status and a jump guard.
        Written by REPORTER accounts (the oracle keeper). docs/spec.md §2.
"""

from interfaces import IAggregatorV3
from interfaces import IEquityOracle
from snekmate.auth import access_control
from contracts.auth import roles
from contracts.oracle import equity_feed

implements: IAggregatorV3
implements: IEquityOracle

initializes: access_control
initializes: roles[access_control := access_control]
initializes: equity_feed[access_control := access_control]

exports: (
    access_control.supportsInterface,
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.set_role_admin,
    roles.grantRole,
    roles.transfer_admin,
    roles.accept_admin,
    roles.pending_admin,
    roles.admin_proposer,
    roles.REPORTER_ROLE,
    roles.RISK_ADMIN_ROLE,
    roles.GUARDIAN_ROLE,
    equity_feed.decimals,
    equity_feed.description,
    equity_feed.version,
    equity_feed.latestRoundData,
    equity_feed.latestRound,
    equity_feed.getRoundData,
    equity_feed.round_status,
    equity_feed.round_state,
    equity_feed.market_status,
    equity_feed.market_state,
    equity_feed.latest_state,
    equity_feed.shares_multiplier_wad,
    equity_feed.round_multiplier_wad,
    equity_feed.staged_split,
    equity_feed.stage_split,
    equity_feed.cancel_split,
    equity_feed.staged_dividend,
    equity_feed.stage_dividend,
    equity_feed.confirm_dividend,
    equity_feed.cancel_dividend,
    equity_feed.reported_status,
    equity_feed.suspect,
    equity_feed.escalation,
    equity_feed.escalation_prints,
    equity_feed.escalation_seconds,
    equity_feed.set_escalation,
    equity_feed.max_jump_bps,
    equity_feed.push_price,
    equity_feed.clear_suspect,
    equity_feed.set_max_jump_bps,
)


@deploy
def __init__(admin: address, decimals_: uint8, description_: String[64], max_jump_bps_: uint256):
    """
    @param admin DEFAULT_ADMIN (grants REPORTER and RISK_ADMIN).
    @param decimals_ Price decimals (8 for Chainlink-like feeds).
    @param description_ Pair name, e.g. "TSLA / USD".
    @param max_jump_bps_ Jump threshold in bps (default 2_500).
    """
    access_control.__init__()
    roles._hand_admin_to(admin)
    equity_feed.__init__(decimals_, description_, max_jump_bps_)
