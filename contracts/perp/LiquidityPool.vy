# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title LiquidityPool
@custom:contract-name LiquidityPool
@notice The counterparty of a perp market's skew (docs/spec.md §4): an ERC-4626 vault of the
        collateral token whose share price follows the pool's NAV — its balance plus what it
        is up (or minus what it is down) on the traders' open positions, funding included, as
        the market computes in O(1) from its aggregates.
        - First-depositor inflation is unprofitable: virtual shares (10^6) and one virtual
          asset (OpenZeppelin's offset), so a donation mostly enriches everyone but the donor.
        - LPs enter and leave only while the market trades (fresh OPEN price), and never take
          the pool below what the open interest needs (`required_nav`).
        - No just-in-time LP (docs/design/pool.md): a deposit locks its receiver's whole
          balance for `deposit_lock_s` (RISK_ADMIN, within [1 h, 30 d], default 1 day). A
          locked balance cannot be withdrawn, redeemed or transferred, and nobody may deposit
          for another account that already holds shares (it would relock them). So a fill's
          fee and premium go to the LPs who stay through what follows it, not to one who
          deposits before a public order and redeems in the same block.
        snekmate's `erc4626` does the transfers, share mint/burn and events; the conversions
        here use the NAV instead of the token balance.
@dev Rounding as ERC-4626 wants it, always in the pool's favour: shares minted and assets
     paid round down, shares burned and assets charged round up (`_to_shares`, `_to_assets`).
"""

from ethereum.ercs import IERC20
from interfaces import IPoolMarket
from snekmate.auth import access_control
from snekmate.extensions import erc4626
from snekmate.utils import math
from contracts.auth import roles
from contracts.lib import constants

initializes: access_control
initializes: roles[access_control := access_control]
initializes: erc4626

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
    roles.RISK_ADMIN_ROLE,
    erc4626.erc20.totalSupply,
    erc4626.erc20.balanceOf,
    erc4626.erc20.approve,
    erc4626.erc20.allowance,
    erc4626.erc20.permit,
    erc4626.erc20.nonces,
    erc4626.erc20.DOMAIN_SEPARATOR,
    erc4626.name,
    erc4626.symbol,
    erc4626.decimals,
    erc4626.asset,
)

VIRTUAL_SHARES: constant(uint256) = 10**6  # decimals offset 6
VIRTUAL_ASSETS: constant(uint256) = 1
# @dev Bounds of the deposit lock: no shorter than the longest order window (`order_max_age`
#      <= 3,600 s), no longer than a month (LPs must be able to leave).
MIN_DEPOSIT_LOCK_S: constant(uint256) = 3_600
MAX_DEPOSIT_LOCK_S: constant(uint256) = 30 * constants.DAY

# @dev The account that deployed the pool (a factory); it may attach the market once.
DEPLOYER: public(immutable(address))

# @dev The market this pool backs (set once).
market: public(IPoolMarket)

# @dev Seconds a deposit locks its receiver's balance (docs/design/pool.md).
deposit_lock_s: public(uint256)

# @dev When each account's balance unlocks (0: never locked); it never moves back.
unlock_at: public(HashMap[address, uint256])


# @dev The pool was attached to its market.
event MarketSet:
    market: indexed(address)


# @dev A deposit locked `owner`'s whole balance until `unlock_at`.
event Locked:
    owner: indexed(address)
    unlock_at: uint256


# @dev The deposit lock changed (deposits made before keep their unlock time).
event DepositLockSet:
    old_s: uint256
    new_s: uint256


# @dev The market paid a trader's realized profit (or a keeper) out of the pool.
event Paid:
    to: indexed(address)
    amount: uint256


@deploy
def __init__(admin: address, asset_: IERC20, name_: String[25], symbol_: String[5]):
    """
    @param admin DEFAULT_ADMIN (the deployer keeps no role; it may only attach the market).
    @param asset_ The collateral token.
    @param name_ Share name, e.g. "synthequity TSLA LP".
    @param symbol_ Share symbol, e.g. "sqLP".
    """
    access_control.__init__()
    roles._hand_admin_to(admin)
    DEPLOYER = msg.sender
    erc4626.__init__(name_, symbol_, asset_, 6, name_, "1")
    self.deposit_lock_s = constants.DAY


# ---- ERC-4626 views ------------------------------------------------------------------------


@external
@view
def totalAssets() -> uint256:
    """
    @notice The pool's NAV: balance + what it is up on open positions (never below 0).
    @return uint256 Collateral units.
    """
    return self._nav()


@external
@view
def convertToShares(assets: uint256) -> uint256:
    """
    @notice Shares for `assets` at the NAV (rounded down).
    @param assets Collateral units.
    @return uint256 Shares.
    """
    return self._to_shares(assets, self._nav(), False)


@external
@view
def convertToAssets(shares: uint256) -> uint256:
    """
    @notice Assets for `shares` at the NAV (rounded down).
    @param shares Shares.
    @return uint256 Collateral units.
    """
    return self._to_assets(shares, self._nav(), False)


@external
@view
def maxDeposit(receiver: address) -> uint256:
    """
    @notice Unlimited while the market trades, 0 otherwise, and 0 for a deposit by the
            caller for another account that holds shares.
    @param receiver Share receiver.
    @return uint256 Collateral units.
    """
    return max_value(uint256) if self._may_deposit_for(receiver) else 0


@external
@view
def maxMint(receiver: address) -> uint256:
    """
    @notice Unlimited while the market trades, 0 otherwise, and 0 for a mint by the caller
            for another account that holds shares.
    @param receiver Share receiver.
    @return uint256 Shares.
    """
    return max_value(uint256) if self._may_deposit_for(receiver) else 0


@external
@view
def maxWithdraw(owner: address) -> uint256:
    """
    @notice What `owner` can take out now: its share of the NAV, within the free liquidity;
            0 while the market does not trade or `owner`'s balance is locked.
    @param owner LP.
    @return uint256 Collateral units.
    """
    if not self._lp_open() or self._locked(owner):
        return 0
    nav: uint256 = self._nav()
    return min(self._to_assets(erc4626.erc20.balanceOf[owner], nav, False), self._free(nav))


@external
@view
def maxRedeem(owner: address) -> uint256:
    """
    @notice Shares `owner` can redeem now (0 while the market does not trade or `owner`'s
            balance is locked).
    @param owner LP.
    @return uint256 Shares.
    """
    if not self._lp_open() or self._locked(owner):
        return 0
    nav: uint256 = self._nav()
    return min(erc4626.erc20.balanceOf[owner], self._to_shares(self._free(nav), nav, False))


@external
@view
def previewDeposit(assets: uint256) -> uint256:
    """
    @notice Shares a deposit of `assets` mints (rounded down).
    @param assets Collateral units.
    @return uint256 Shares.
    """
    return self._to_shares(assets, self._nav(), False)


@external
@view
def previewMint(shares: uint256) -> uint256:
    """
    @notice Assets minting `shares` costs (rounded up).
    @param shares Shares.
    @return uint256 Collateral units.
    """
    return self._to_assets(shares, self._nav(), True)


@external
@view
def previewWithdraw(assets: uint256) -> uint256:
    """
    @notice Shares withdrawing `assets` burns (rounded up).
    @param assets Collateral units.
    @return uint256 Shares.
    """
    return self._to_shares(assets, self._nav(), True)


@external
@view
def previewRedeem(shares: uint256) -> uint256:
    """
    @notice Assets redeeming `shares` pays (rounded down).
    @param shares Shares.
    @return uint256 Collateral units.
    """
    return self._to_assets(shares, self._nav(), False)


# ---- ERC-4626 actions -------------------------------------------------------------------------


@external
def deposit(assets: uint256, receiver: address) -> uint256:
    """
    @notice Deposits `assets`, mints shares at the NAV to `receiver` and locks `receiver`'s
            whole balance for `deposit_lock_s`. Market must trade; refused for another
            account that already holds shares.
    @param assets Collateral units.
    @param receiver Share receiver.
    @return uint256 Shares minted.
    """
    assert self._lp_open(), "pool: market closed"
    # paid out (shares): rounds down
    shares: uint256 = self._to_shares(assets, self._nav(), False)
    assert shares != 0, "pool: zero shares"
    self._deposit_exact(receiver, assets, shares)
    return shares


@external
def mint(shares: uint256, receiver: address) -> uint256:
    """
    @notice Mints exactly `shares` to `receiver` for the assets they cost and locks
            `receiver`'s whole balance for `deposit_lock_s`. Market must trade; refused for
            another account that already holds shares.
    @param shares Shares.
    @param receiver Share receiver.
    @return uint256 Assets paid.
    """
    assert self._lp_open(), "pool: market closed"
    assert shares != 0, "pool: zero shares"
    # owed (assets): rounds up
    assets: uint256 = self._to_assets(shares, self._nav(), True)
    self._deposit_exact(receiver, assets, shares)
    return assets


@external
def withdraw(assets: uint256, receiver: address, owner: address) -> uint256:
    """
    @notice Pays `assets` to `receiver`, burning `owner`'s shares (allowance when not the
            caller). Market must trade, `owner`'s balance unlocked; the pool stays above what
            open interest needs.
    @param assets Collateral units.
    @param receiver Asset receiver.
    @param owner Share owner.
    @return uint256 Shares burned.
    """
    assert self._lp_open(), "pool: market closed"
    assert not self._locked(owner), "pool: locked"
    nav: uint256 = self._nav()
    assert assets <= self._free(nav), "pool: needed by open interest"
    # owed (shares): rounds up
    shares: uint256 = self._to_shares(assets, nav, True)
    erc4626._withdraw(msg.sender, receiver, owner, assets, shares)
    return shares


@external
def redeem(shares: uint256, receiver: address, owner: address) -> uint256:
    """
    @notice Burns `shares` of `owner` and pays their assets to `receiver`. Market must trade,
            `owner`'s balance unlocked; the pool stays above what open interest needs.
    @param shares Shares.
    @param receiver Asset receiver.
    @param owner Share owner.
    @return uint256 Assets paid.
    """
    assert self._lp_open(), "pool: market closed"
    assert not self._locked(owner), "pool: locked"
    nav: uint256 = self._nav()
    # paid out (assets): rounds down
    assets: uint256 = self._to_assets(shares, nav, False)
    assert assets <= self._free(nav), "pool: needed by open interest"
    erc4626._withdraw(msg.sender, receiver, owner, assets, shares)
    return assets


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` of the caller's shares to `to`. Refused while the caller's balance
            is locked (a transfer cannot dodge the lock; the receiver's lock is unchanged).
    @param to Receiver.
    @param amount Shares.
    @return bool True (reverts otherwise).
    """
    assert not self._locked(msg.sender), "pool: locked"
    erc4626.erc20._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` of `owner`'s shares to `to` within the caller's allowance.
            Refused while `owner`'s balance is locked.
    @param owner Share owner.
    @param to Receiver.
    @param amount Shares.
    @return bool True (reverts otherwise).
    """
    assert not self._locked(owner), "pool: locked"
    erc4626.erc20._spend_allowance(owner, msg.sender, amount)
    erc4626.erc20._transfer(owner, to, amount)
    return True


@internal
def _deposit_exact(receiver: address, assets: uint256, shares: uint256):
    """
    @dev snekmate's deposit, refusing a token that delivers less than `assets` (a fee on
         transfer would mint shares the other LPs pay for), after locking `receiver`: only
         the caller's own balance, or an empty one, may be (re)locked.
    """
    if receiver != msg.sender:
        assert erc4626.erc20.balanceOf[receiver] == 0, "pool: receiver holds shares"
    unlock: uint256 = max(self.unlock_at[receiver], block.timestamp + self.deposit_lock_s)
    self.unlock_at[receiver] = unlock
    log Locked(owner=receiver, unlock_at=unlock)
    before: uint256 = staticcall IERC20(erc4626.asset).balanceOf(self)
    erc4626._deposit(msg.sender, receiver, assets, shares)
    assert (
        staticcall IERC20(erc4626.asset).balanceOf(self) >= before + assets
    ), "pool: fee on transfer"


# ---- the market -------------------------------------------------------------------------------


@external
def pay(to: address, amount: uint256):
    """
    @notice Pays `amount` out of the pool (a trader's realized profit, a shortfall). Market only.
    @param to Receiver.
    @param amount Collateral units.
    """
    assert msg.sender == self.market.address, "pool: only market"
    assert extcall IERC20(erc4626.asset).transfer(
        to, amount, default_return_value=True
    ), "pool: transfer"
    log Paid(to=to, amount=amount)


@external
def set_deposit_lock_s(new_s: uint256):
    """
    @notice Sets how long a deposit locks its receiver's balance, within [3,600 s, 30 days].
            Deposits already made keep their unlock time. RISK_ADMIN only.
    @param new_s Seconds.
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    assert new_s >= MIN_DEPOSIT_LOCK_S and new_s <= MAX_DEPOSIT_LOCK_S, "pool: lock bounds"
    log DepositLockSet(old_s=self.deposit_lock_s, new_s=new_s)
    self.deposit_lock_s = new_s


@external
def set_market(market_: IPoolMarket):
    """
    @notice Attaches the pool to its market, once. DEFAULT_ADMIN or the deployer (the
            factory attaches the market it deploys with the pool).
    @param market_ The perp market.
    """
    if msg.sender != DEPLOYER:
        access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert self.market.address == empty(address), "pool: market set"
    assert market_.address != empty(address), "pool: zero market"
    self.market = market_
    log MarketSet(market=market_.address)


# ---- internal -----------------------------------------------------------------------------------


@internal
@view
def _nav() -> uint256:
    bal: int256 = convert(staticcall IERC20(erc4626.asset).balanceOf(self), int256)
    if self.market.address != empty(address):
        bal += staticcall self.market.pool_pnl()
    return convert(max(bal, 0), uint256)


@internal
@view
def _free(nav: uint256) -> uint256:
    """
    @dev NAV above what the open interest needs, capped by the tokens actually held.
    """
    need: uint256 = 0
    if self.market.address != empty(address):
        need = staticcall self.market.required_nav()
    free: uint256 = nav - need if nav > need else 0
    return min(free, staticcall IERC20(erc4626.asset).balanceOf(self))


@internal
@view
def _lp_open() -> bool:
    if self.market.address == empty(address):
        return True  # bootstrapping: no positions can exist yet
    return staticcall self.market.lp_open()


@internal
@view
def _locked(owner: address) -> bool:
    """
    @dev `owner`'s last deposit is younger than the lock it took.
    """
    return block.timestamp < self.unlock_at[owner]


@internal
@view
def _may_deposit_for(receiver: address) -> bool:
    """
    @dev The market trades, and the caller deposits for itself or for an empty account.
    """
    if receiver != msg.sender and erc4626.erc20.balanceOf[receiver] != 0:
        return False
    return self._lp_open()


@internal
@view
def _to_shares(assets: uint256, nav: uint256, roundup: bool) -> uint256:
    """
    @dev Shares for `assets` at `nav`, virtual offset included; `roundup` for what is owed.
    """
    return math._mul_div(
        assets, erc4626.erc20.totalSupply + VIRTUAL_SHARES, nav + VIRTUAL_ASSETS, roundup
    )


@internal
@view
def _to_assets(shares: uint256, nav: uint256, roundup: bool) -> uint256:
    """
    @dev Assets for `shares` at `nav`, virtual offset included; `roundup` for what is owed.
    """
    return math._mul_div(
        shares, nav + VIRTUAL_ASSETS, erc4626.erc20.totalSupply + VIRTUAL_SHARES, roundup
    )
