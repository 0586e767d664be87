# pragma version 0.4.3
"""
@title synth_vault
@custom:contract-name synth_vault
@notice The vault's state and rules (docs/spec.md §3, §5, §7): positions of (collateral, debt) per
        account, a stability-fee rate index, minting against the minimum collateral ratio,
        burning, and partial liquidation back to the MCR with bad debt reported, never silent.

        Units: collateral in the collateral token's own units (6 or 18 decimals); debt and
        synth amounts in 1e18 = one share; prices and USD values in 1e18 (`_wad`); the
        stability-fee index in 1e18.

        Debt and fees: each position records its debt and the rate index it was recorded at.
        Touching a position brings its debt up to the current index (rounded up: owed to the
        protocol) and mints the difference to the insurance fund, so that
        `synth.totalSupply() == Σ recorded debt + system_debt` holds exactly, to the wei. The
        fund's synth is never stuck: anyone buys it at the oracle price (`_buy_fee_synth`), so
        every borrower can repay in full; after a delisting it redeems like any holder's.

        Rounding: what is owed to the protocol rounds up (debt, repay needed to restore the
        MCR), what is paid out rounds down (collateral seized, protocol share).
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from interfaces import ISynthToken
from snekmate.utils import pausable
from contracts.lib import constants
from contracts.oracle import oracle_guard

uses: pausable
initializes: oracle_guard

# @dev In `_rate_word`: the vault is in delisting settlement (frozen price, fees stopped).
VAULT_DELISTED: constant(uint256) = constants.TOP_BIT
MAX_FEE_BPS: constant(uint256) = 2_000
MAX_MCR_BPS: constant(uint256) = 30_000
MAX_PENALTY_BPS: constant(uint256) = 2_000
MIN_DEBT_MAX_WAD: constant(uint256) = 1_000_000 * 10**18
MAX_BATCH: constant(uint256) = 500


# @dev The synth this vault mints (deployed by this vault from a blueprint).
SYNTH: public(immutable(ISynthToken))
# @dev The collateral token (a USD stablecoin, assumed worth $1).
COLLATERAL: public(immutable(IERC20))
# @dev Receives penalties' protocol share and stability fees; covers bad debt first.
INSURANCE: public(immutable(IInsuranceFund))
# @dev 10 ** (18 - collateral decimals): collateral units -> USD wad.
_USD_PER_UNIT: immutable(uint256)


# @dev Per account, one word: collateral [0, 96) | recorded debt [96, 184) |
#      the rate index the debt was recorded at [184, 256).
_pos: HashMap[address, uint256]
# @dev rate index (wad) [0, 128) | last accrual time [128, 192) | fee per second (wad)
#      [192, 255) | settled [255] (read with the rate on every risk path: no extra slot).
_rate_word: uint256
# @dev mcr_bps [0,16) | liquidation_ratio_bps [16,32) | penalty_bps [32,48) |
#      protocol_share_bps [48,64) | min_debt_usd (wad) [64,160) | debt_ceiling [160,256).
_params: uint256
# @dev Stability fee, bps per year (its per-second form lives in `_rate_word`).
stability_fee_bps: public(uint256)
# @dev Bad debt taken over by the system (synth units), still part of the supply.
system_debt: public(uint256)
# @dev Collateral the insurance fund paid in against `system_debt`.
system_collateral: public(uint256)
# @dev Settlement (delisting, docs/spec.md §6): the frozen price of one base share (wad); 0
#      while the market lives.
settlement_price_wad: public(uint256)
# @dev Settlement: what one synth share redeems for (USD wad), fixed by the first redemption,
#      which needs every debt settled first; 0 before.
redemption_rate_wad: public(uint256)
# @dev The positions with debt sorted by collateral ratio, riskiest first (a singly linked list
#      kept in order with hints computed off chain; docs/design/vault.md): per account, the
#      next position [0, 160) | its sort key [160, 256), 0 when not listed. The entry of
#      `empty(address)` is the head: its next is the riskiest position, its key 0.
_node: HashMap[address, uint256]
# @dev Redemption base rate (wad) [0, 128) | the time it was last raised [128, 192).
_base_rate_word: uint256


# @dev Collateral added to `account`'s position.
event Deposit:
    account: indexed(address)
    amount: uint256


# @dev Collateral taken out of `account`'s position.
event Withdraw:
    account: indexed(address)
    amount: uint256


# @dev Synth minted against `account`'s position; `debt` is the debt after.
event Mint:
    account: indexed(address)
    amount: uint256
    debt: uint256


# @dev Synth burned to repay `account`'s debt; `debt` is the debt after.
event Burn:
    account: indexed(address)
    amount: uint256
    debt: uint256


# @dev A liquidation: `repaid` synth burned from the liquidator, `seized` collateral paid to
#      the liquidator, `protocol_fee` collateral to the insurance fund.
event Liquidate:
    liquidator: indexed(address)
    account: indexed(address)
    repaid: uint256
    seized: uint256
    protocol_fee: uint256
    debt: uint256
    collateral: uint256


# @dev A position under water left `bad_debt` synth unbacked; the insurance fund paid
#      `covered` collateral against it (the rest is `uncovered_usd`, in wad USD).
event BadDebt:
    account: indexed(address)
    bad_debt: uint256
    covered: uint256
    uncovered_usd: uint256


# @dev The market went into settlement at `price_wad` (frozen; fees stop).
event Settled:
    by: indexed(address)
    price_wad: uint256


# @dev A position was settled at the frozen price: `debt` (synth) moved to the system with
#      the collateral backing it; `paid` (the rest of `collateral`) went to the account.
event PositionSettled:
    account: indexed(address)
    by: indexed(address)
    debt: uint256
    collateral: uint256
    paid: uint256


# @dev `holder` redeemed `amount` synth for `paid` collateral at the frozen price.
event Redeemed:
    holder: indexed(address)
    amount: uint256
    paid: uint256


# @dev `redeemer` burned `amount` synth against the riskiest positions for `paid` collateral
#      (after the `fee`, paid to the insurance fund); `base_rate_wad` is the base rate after.
event Redemption:
    redeemer: indexed(address)
    amount: uint256
    paid: uint256
    fee: uint256
    base_rate_wad: uint256


# @dev A redemption took `debt` synth of `account`'s debt and `collateral` worth as much at
#      the oracle price.
event PositionRedeemed:
    account: indexed(address)
    debt: uint256
    collateral: uint256


# @dev `buyer` bought `amount` of the synth the insurance fund holds (stability fees) for
#      `paid` collateral, paid to the fund.
event FeeSynthSold:
    buyer: indexed(address)
    amount: uint256
    paid: uint256


# @dev A risk parameter changed.
event ParameterSet:
    name: String[32]
    old_value: uint256
    new_value: uint256


struct RiskParams:
    mcr_bps: uint256
    liquidation_ratio_bps: uint256
    liquidation_penalty_bps: uint256
    protocol_share_bps: uint256
    min_debt_usd: uint256
    stability_fee_bps: uint256
    debt_ceiling: uint256


@deploy
def __init__(synth: ISynthToken, collateral: IERC20, insurance: IInsuranceFund):
    """
    @dev The immutables only: `SynthVault` and its `SynthVaultExt` set the same ones, and the
         storage is written once, by `_initialize`, run in the vault's storage.
    """
    decimals_: uint8 = staticcall IERC20Detailed(collateral.address).decimals()
    assert decimals_ <= 18, "vault: decimals > 18"
    COLLATERAL = collateral
    INSURANCE = insurance
    _USD_PER_UNIT = 10**convert(18 - decimals_, uint256)
    SYNTH = synth


@internal
def _initialize(oracle: IEquityOracle, max_age_open: uint256, params: RiskParams):
    """
    @dev The vault's first storage: the oracle guard, the fee index, the risk parameters.
    """
    assert self._rate_word == 0, "vault: initialized"
    oracle_guard._initialize(oracle, max_age_open)
    self._rate_word = constants.WAD | (block.timestamp << 128)
    self._set_params(params)


# ---- views ---------------------------------------------------------------------------


@internal
@view
def _mcr_bps(p: uint256) -> uint256:
    return p & 65535


@internal
@view
def _lr_bps(p: uint256) -> uint256:
    return (p >> 16) & 65535


@internal
@view
def _penalty_bps(p: uint256) -> uint256:
    return (p >> 32) & 65535


@internal
@view
def _share_bps(p: uint256) -> uint256:
    return (p >> 48) & 65535


@internal
@view
def _min_debt_wad(p: uint256) -> uint256:
    return (p >> 64) & constants.MASK96


@internal
@view
def _rate_at(word: uint256, t: uint256) -> uint256:
    """
    @dev The index at time `t` (>= last accrual): compounding per accrual, linear within one,
         rounded up.
    """
    rate: uint256 = word & constants.MASK128
    dt: uint256 = t - ((word >> 128) & constants.MASK64)
    fee_per_s: uint256 = (word >> 192) & constants.MASK63
    if dt == 0 or fee_per_s == 0:
        return rate
    return rate + (rate * fee_per_s * dt + constants.WAD - 1) // constants.WAD


@internal
@pure
def _debt_at(word: uint256, rate: uint256) -> uint256:
    """
    @dev A position word's recorded debt brought to `rate` (rounded up).
    """
    debt: uint256 = (word >> 96) & constants.MASK88
    snap: uint256 = word >> 184
    if debt == 0 or snap == rate:
        return debt
    return (debt * rate + snap - 1) // snap


@internal
@view
def _current(account: address) -> (uint256, uint256):
    """
    @dev (collateral, debt with fees accrued to now), without writing.
    """
    word: uint256 = self._pos[account]
    return word & constants.MASK96, self._debt_at(word, self._rate_now())


@internal
@view
def _rate_now() -> uint256:
    return self._rate_at(self._rate_word, block.timestamp)


@internal
@view
def _usd(collateral: uint256) -> uint256:
    return collateral * _USD_PER_UNIT


@internal
@view
def _is_below(collateral: uint256, debt: uint256, price_wad: uint256, ratio_bps: uint256) -> bool:
    """
    @dev collateral value / (debt x price) < ratio, compared exactly (no rounding).
    """
    return self._usd(collateral) * constants.BPS * constants.WAD < debt * price_wad * ratio_bps


@internal
@view
def _liquidatable_at(account: address, price_wad: uint256, rate: uint256, lr_bps: uint256) -> bool:
    """
    @dev `rate` (the index now) and `lr_bps` are read once by the caller, not per account.
    """
    word: uint256 = self._pos[account]
    debt: uint256 = self._debt_at(word, rate)
    return debt != 0 and self._is_below(word & constants.MASK96, debt, price_wad, lr_bps)


@internal
@view
def _usable_price() -> (uint256, bool):
    """
    @dev For the liquidation views: never usable once settled (a keeper must not chase
         liquidations the vault refuses).
    """
    p: oracle_guard.Price = oracle_guard._latest()
    return p.wad, oracle_guard._is_usable(p) and self._rate_word & VAULT_DELISTED == 0


# ---- state changes -------------------------------------------------------------------


@internal
def _accrue() -> uint256:
    """
    @dev Brings the global index to now; returns it.
    """
    word: uint256 = self._rate_word
    if (word >> 128) & constants.MASK64 == block.timestamp:
        return word & constants.MASK128
    rate: uint256 = self._rate_at(word, block.timestamp)
    self._rate_word = rate | (block.timestamp << 128) | ((word >> 192) << 192)
    return rate


@internal
def _touch(account: address, rate: uint256) -> (uint256, uint256):
    """
    @dev (collateral, debt) of `account` with its fee accrued and minted to the insurance
         fund. The caller stores the position back with `_store`.
    """
    word: uint256 = self._pos[account]
    debt: uint256 = (word >> 96) & constants.MASK88
    current: uint256 = self._debt_at(word, rate)
    if current != debt:
        extcall SYNTH.mint(INSURANCE.address, current - debt)
    return word & constants.MASK96, current


@internal
def _store(account: address, collateral: uint256, debt: uint256, rate: uint256) -> uint256:
    assert (
        collateral <= constants.MASK96 and debt <= constants.MASK88 and rate <= constants.MASK72
    ), "vault: overflow"
    word: uint256 = collateral
    if debt != 0:
        word = collateral | (debt << 96) | (rate << 184)
    self._pos[account] = word
    return word


@internal
def _pull(amount: uint256):
    """
    @dev Collateral in from `msg.sender`; a token that returns false, or that delivers less
         than `amount` (a fee on transfer), reverts.
    """
    before: uint256 = staticcall COLLATERAL.balanceOf(self)
    assert extcall COLLATERAL.transferFrom(
        msg.sender, self, amount, default_return_value=True
    ), "vault: transfer in failed"
    assert staticcall COLLATERAL.balanceOf(self) >= before + amount, "vault: fee on transfer"


@internal
def _push(to: address, amount: uint256):
    if amount != 0:
        assert extcall COLLATERAL.transfer(
            to, amount, default_return_value=True
        ), "vault: transfer out failed"


@internal
def _check_min_debt(debt: uint256, price_wad: uint256, min_debt_wad: uint256):
    assert (
        debt == 0 or debt * price_wad >= min_debt_wad * constants.WAD
    ), "vault: debt below minimum"


@internal
def _deposit(amount: uint256, prev_hint: address, insert_hint: address, relist: bool):
    assert amount != 0, "vault: zero amount"
    self._require_listed()
    word: uint256 = self._pos[msg.sender]
    assert amount <= constants.MASK96 - (
        word & constants.MASK96
    ), "vault: overflow"  # no bare revert at max
    self._pos[msg.sender] = word + amount
    if relist:
        self._relist(msg.sender, word + amount, prev_hint, insert_hint)
    self._pull(amount)
    log Deposit(account=msg.sender, amount=amount)


@internal
def _mint(amount: uint256, prev_hint: address, insert_hint: address):
    assert amount != 0, "vault: zero amount"
    self._require_listed()
    pausable._require_not_paused()
    price: uint256 = oracle_guard._price_for_risk()
    rate: uint256 = self._accrue()
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = self._touch(msg.sender, rate)
    params: uint256 = self._params
    assert amount <= params >> 160, "vault: debt ceiling"  # bounds the sums below
    debt += amount
    assert not self._is_below(coll, debt, price, self._mcr_bps(params)), "vault: below MCR"
    self._check_min_debt(debt, price, self._min_debt_wad(params))
    assert staticcall SYNTH.totalSupply() + amount <= params >> 160, "vault: debt ceiling"
    self._relist(msg.sender, self._store(msg.sender, coll, debt, rate), prev_hint, insert_hint)
    extcall SYNTH.mint(msg.sender, amount)
    log Mint(account=msg.sender, amount=amount, debt=debt)


@internal
def _withdraw(amount: uint256, prev_hint: address, insert_hint: address):
    assert amount != 0, "vault: zero amount"
    self._require_listed()
    rate: uint256 = self._accrue()
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = self._touch(msg.sender, rate)
    assert amount <= coll, "vault: exceeds collateral"
    coll -= amount
    if debt != 0:
        # Unencumbered collateral (no debt) needs no price; anything else is risk.
        pausable._require_not_paused()
        price: uint256 = oracle_guard._price_for_risk()
        assert not self._is_below(
            coll, debt, price, self._mcr_bps(self._params)
        ), "vault: below MCR"
    self._relist(msg.sender, self._store(msg.sender, coll, debt, rate), prev_hint, insert_hint)
    self._push(msg.sender, amount)
    log Withdraw(account=msg.sender, amount=amount)


@internal
def _burn(amount: uint256, prev_hint: address, insert_hint: address) -> uint256:
    """
    @dev Repays up to the debt; always allowed while listed (reduces risk). Partial repayment
         may not leave dust (valued at the last price, even while the market is closed). After
         a delisting a debt is settled at the frozen price (`_close_delisted`), never repaid
         with synth at par: that would let a borrower's synth escape the gap other holders
         share.
    """
    assert amount != 0, "vault: zero amount"
    self._require_listed()
    rate: uint256 = self._accrue()
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = self._touch(msg.sender, rate)
    assert amount <= debt, "vault: exceeds debt"
    debt -= amount
    if debt != 0:
        self._check_min_debt(debt, oracle_guard._mark_wad(), self._min_debt_wad(self._params))
    self._relist(msg.sender, self._store(msg.sender, coll, debt, rate), prev_hint, insert_hint)
    extcall SYNTH.burn(msg.sender, amount)
    log Burn(account=msg.sender, amount=amount, debt=debt)
    return debt


@internal
def _close(prev_hint: address):
    """
    @dev Repays all debt from the caller's synth and returns all collateral. Always allowed
         while listed; after a delisting only without debt (the equity a settlement left).
         What the caller's synth lacks (the fees accrued up to this block, which no one
         could buy before they were minted to the fund by this very call) is bought from
         the fund's synth at the oracle price and paid out of the returned collateral, so
         the last borrower can always close (finding 5); that part needs a usable price.
    """
    rate: uint256 = self._accrue()
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = self._touch(msg.sender, rate)
    assert coll != 0 or debt != 0, "vault: no position"
    self._pos[msg.sender] = 0
    if debt != 0:
        self._require_listed()
        self._relist(msg.sender, 0, prev_hint, empty(address))
        coll -= self._burn_buying_short(debt, 0, coll)
        log Burn(account=msg.sender, amount=debt, debt=0)
    if coll != 0:
        self._push(msg.sender, coll)
        log Withdraw(account=msg.sender, amount=coll)


@internal
def _liquidate(
    account: address, max_repay: uint256, keeper: address, prev_hint: address, insert_hint: address
) -> (uint256, uint256):
    """
    @dev docs/spec.md §3: repay only what restores the MCR; full when the rest would be dust;
         under water, all collateral goes and the rest of the debt is bad debt. With a
         `keeper` (the stability pool's liquidations), `KEEPER_SHARE_BPS` of the penalty goes
         to it out of what the caller receives. Returns (repaid, collateral to the caller).
    """
    self._require_listed()
    price: uint256 = oracle_guard._price_for_risk()
    rate: uint256 = self._accrue()
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = self._touch(account, rate)
    params: uint256 = self._params
    assert debt != 0 and self._is_below(
        coll, debt, price, self._lr_bps(params)
    ), "vault: not liquidatable"
    penalty: uint256 = self._penalty_bps(params)
    coll_usd: uint256 = self._usd(coll)

    repay: uint256 = 0
    seized: uint256 = 0
    fee: uint256 = 0
    bad: uint256 = 0
    if coll_usd * constants.BPS * constants.WAD < debt * price * (constants.BPS + penalty):
        # Under water: the collateral buys back what it covers at the penalty price.
        repay = coll_usd * constants.WAD * constants.BPS // (price * (constants.BPS + penalty))
        seized = coll
        bad = debt - repay
    else:
        mcr: uint256 = self._mcr_bps(params)
        need: uint256 = mcr * debt * price - coll_usd * constants.BPS * constants.WAD
        repay = (need + price * (mcr - constants.BPS - penalty) - 1) // (
            price * (mcr - constants.BPS - penalty)
        )
        repay = min(repay, debt)
        if repay < debt and (debt - repay) * price < self._min_debt_wad(params) * constants.WAD:
            repay = debt  # the rest would be dust
        if repay > max_repay:
            repay = max_repay
            assert (debt - repay) * price >= self._min_debt_wad(
                params
            ) * constants.WAD, "vault: leaves dust"
        seized_usd: uint256 = (
            repay * price * (constants.BPS + penalty) // (constants.WAD * constants.BPS)
        )
        seized = min(seized_usd // _USD_PER_UNIT, coll)
        fee = min(self._penalty_part(repay, price, penalty, self._share_bps(params)), seized)
    assert repay <= max_repay, "vault: max_repay too small"
    assert repay != 0 or bad != 0, "vault: nothing to repay"
    reward: uint256 = 0
    if keeper != empty(address):
        reward = min(
            self._penalty_part(repay, price, penalty, constants.KEEPER_SHARE_BPS), seized - fee
        )

    coll -= seized
    debt -= repay + bad
    self._relist(account, self._store(account, coll, debt, rate), prev_hint, insert_hint)
    # what the caller's synth lacks (the fee this call just minted) is bought from the fund
    # out of its proceeds: a liquidation that must be whole is never blocked by it
    paid: uint256 = 0
    if repay != 0:
        paid = self._burn_buying_short(repay, price, seized - fee - reward)
    self._push(msg.sender, seized - fee - reward - paid)
    self._push(keeper, reward)
    self._push(INSURANCE.address, fee)
    if bad != 0:
        self._take_bad_debt(account, bad, price)
    log Liquidate(
        liquidator=msg.sender,
        account=account,
        repaid=repay,
        seized=seized - fee,
        protocol_fee=fee,
        debt=debt,
        collateral=coll,
    )
    return repay, seized - fee - reward - paid


@internal
@view
def _require_listed():
    assert self._rate_word & VAULT_DELISTED == 0, "vault: settled"


@internal
def _delist():
    """
    @dev Freezes the market at the oracle's last price (per base share, whatever the
         status: a delisted stock's last print): no deposit, mint, withdrawal or liquidation
         after it, the stability fee stops, and every position and synth is settled at that
         price. The caller checks the role.
    """
    self._require_listed()
    price: uint256 = oracle_guard._mark_wad()
    self._accrue()
    self._rate_word = (self._rate_word & (2**192 - 1)) | VAULT_DELISTED  # fee per second := 0
    self.settlement_price_wad = price
    log Settled(by=msg.sender, price_wad=price)


@internal
def _close_delisted(account: address):
    """
    @dev Anyone, for any account with debt (a keeper settles them all so that redemption
         opens). The debt and the collateral that backs it at the frozen price move to the
         system, where synth holders redeem them; under water, the insurance fund covers what
         it can of the gap (bad debt). The rest of the collateral (the equity) is paid out
         when the account settles itself; settled by anyone else, it stays the account's
         debt-free collateral, taken with `close` (no transfer to an account that cannot
         receive it can hold up the settlement).
    """
    price: uint256 = self.settlement_price_wad
    assert price != 0, "vault: not settled"
    rate: uint256 = self._accrue()
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = self._touch(account, rate)
    assert debt != 0 or (coll != 0 and msg.sender == account), "vault: no position"
    owed: uint256 = (debt * price + constants.WAD * _USD_PER_UNIT - 1) // (
        constants.WAD * _USD_PER_UNIT
    )
    paid: uint256 = 0
    if coll >= owed:
        paid = coll - owed
        self.system_debt += debt
        self.system_collateral += owed
    else:
        backed: uint256 = self._usd(coll) * constants.WAD // price
        self.system_debt += backed
        self.system_collateral += coll
        self._take_bad_debt(account, debt - backed, price)
    if msg.sender == account:
        self._pos[account] = 0
        self._push(account, paid)
    else:
        self._pos[account] = paid  # debt-free collateral
    log PositionSettled(account=account, by=msg.sender, debt=debt, collateral=coll, paid=paid)


@internal
def _redeem(holder: address, amount: uint256) -> uint256:
    """
    @dev Burns `holder`'s `amount` synth for collateral at one rate for every synth unit: the
         frozen price, or less when uncovered bad debt left the system short — the system's
         collateral over its debt, taken once every debt is settled (before, the rate is not
         known: redeeming first would shift the gap onto later holders) and fixed by the
         first redemption. Each call rounds down to the collateral unit.
    """
    price: uint256 = self.settlement_price_wad
    assert price != 0, "vault: not settled"
    assert amount != 0, "vault: zero amount"
    sys_debt: uint256 = self.system_debt
    # supply == Σ recorded debt + system_debt: equal once no position has debt
    assert (
        staticcall SYNTH.totalSupply() == sys_debt and amount <= sys_debt
    ), "vault: settle positions first"
    sys_coll: uint256 = self.system_collateral
    rate: uint256 = self.redemption_rate_wad
    if rate == 0:
        rate = min(price, sys_coll * _USD_PER_UNIT * constants.WAD // sys_debt)  # rounds down
        self.redemption_rate_wad = rate
    paid: uint256 = amount * rate // constants.WAD // _USD_PER_UNIT  # rounds down
    self.system_debt = sys_debt - amount
    self.system_collateral = sys_coll - paid
    extcall SYNTH.burn(holder, amount)
    self._push(holder, paid)
    log Redeemed(holder=holder, amount=amount, paid=paid)
    return paid


@internal
def _buy_fee_synth(amount: uint256, max_paid: uint256) -> uint256:
    """
    @dev The insurance fund's synth (stability fees) to the caller at the oracle price, paid
         in collateral to the fund (rounded up: owed to the protocol). Needs a usable price (no
         purchase at a stale or closed-market price); not blocked by the pause (it only lets
         borrowers repay). The supply does not change: burned from the fund, minted to the
         caller.
    """
    assert amount != 0, "vault: zero amount"
    self._require_listed()
    price: uint256 = oracle_guard._price_for_risk()
    assert amount <= staticcall SYNTH.balanceOf(INSURANCE.address), "vault: exceeds fee synth"
    paid: uint256 = self._fee_synth_cost(amount, price)
    assert paid <= max_paid, "vault: max_paid too small"
    before: uint256 = staticcall COLLATERAL.balanceOf(INSURANCE.address)
    assert extcall COLLATERAL.transferFrom(
        msg.sender, INSURANCE.address, paid, default_return_value=True
    ), "vault: transfer in failed"
    assert (
        staticcall COLLATERAL.balanceOf(INSURANCE.address) >= before + paid
    ), "vault: fee on transfer"
    extcall SYNTH.burn(INSURANCE.address, amount)
    extcall SYNTH.mint(msg.sender, amount)
    log FeeSynthSold(buyer=msg.sender, amount=amount, paid=paid)
    return paid


@internal
@view
def _penalty_part(
    repay: uint256, price_wad: uint256, penalty_bps: uint256, share_bps: uint256
) -> uint256:
    """
    @dev `share_bps` of the penalty on `repay` synth at `price_wad`, in collateral units,
         rounded down (paid out).
    """
    return (
        repay
        * price_wad
        * penalty_bps
        * share_bps // (constants.WAD * constants.BPS * constants.BPS) // _USD_PER_UNIT
    )


@internal
def _burn_buying_short(amount: uint256, price_wad: uint256, max_paid: uint256) -> uint256:
    """
    @dev Burns `amount` of synth from the caller; what its balance lacks is bought from the
         fund's synth at the oracle price (`price_wad`, or a usable price read here when 0)
         and burned there, for at most `max_paid` collateral units. Returns those units,
         already pushed to the fund from the vault's balance: the caller deducts them from
         what it pays out.
    """
    held: uint256 = staticcall SYNTH.balanceOf(msg.sender)
    if held >= amount:
        extcall SYNTH.burn(msg.sender, amount)
        return 0
    short: uint256 = amount - held
    price: uint256 = price_wad
    if price == 0:
        price = oracle_guard._price_for_risk()
    paid: uint256 = self._fee_synth_cost(short, price)
    assert (
        short <= staticcall SYNTH.balanceOf(INSURANCE.address) and paid <= max_paid
    ), "vault: synth short"
    self._push(INSURANCE.address, paid)
    extcall SYNTH.burn(INSURANCE.address, short)
    log FeeSynthSold(buyer=msg.sender, amount=short, paid=paid)
    if held != 0:
        extcall SYNTH.burn(msg.sender, held)
    return paid


@internal
@view
def _fee_synth_cost(amount: uint256, price_wad: uint256) -> uint256:
    """
    @dev Collateral units for `amount` of the fund's synth at `price_wad`, rounded up (owed
         to the protocol).
    """
    return (amount * price_wad + constants.WAD * _USD_PER_UNIT - 1) // (
        constants.WAD * _USD_PER_UNIT
    )


@internal
def _take_bad_debt(account: address, bad: uint256, price_wad: uint256):
    """
    @dev The system takes over `bad` synth of debt; the insurance fund buys the gap in
         collateral; what it cannot pay stays visible as uncovered USD.
    """
    gap_usd: uint256 = (bad * price_wad + constants.WAD - 1) // constants.WAD
    gap: uint256 = (gap_usd + _USD_PER_UNIT - 1) // _USD_PER_UNIT
    covered: uint256 = extcall INSURANCE.cover(gap)
    self.system_debt += bad
    self.system_collateral += covered
    uncovered: uint256 = 0
    if covered < gap:
        uncovered = gap_usd - min(gap_usd, covered * _USD_PER_UNIT)
    log BadDebt(account=account, bad_debt=bad, covered=covered, uncovered_usd=uncovered)


# ---- the sorted list (riskiest first) and redemptions ---------------------------------


@internal
@view
def _sort_key(word: uint256) -> uint256:
    """
    @dev A position word's collateral ratio without the price: collateral USD x the index its
         debt was recorded at / that debt (rounded down, at least 1, saturating at 96 bits).
         Every debt grows with the same index, so the keys of untouched positions keep the
         order of their collateral ratios at any price and time; 0 without debt (unlisted).
    """
    debt: uint256 = (word >> 96) & constants.MASK88
    if debt == 0:
        return 0
    return max(min(self._usd(word & constants.MASK96) * (word >> 184) // debt, constants.MASK96), 1)


@internal
@view
def _find_prev(account: address, hint: address) -> address:
    """
    @dev The node whose next is `account` (listed), walking from `hint` (a node before it),
         else from the head.
    """
    cur: address = hint
    if self._node[cur] >> 160 == 0:
        cur = empty(address)  # not listed (or the head itself): from the head
    restarted: bool = cur == empty(address)
    for i: uint256 in range(constants.SORTED_MAX_WALK):
        nxt: address = convert(self._node[cur] & constants.MASK160, address)
        if nxt == account:
            return cur
        if nxt == empty(address):
            assert not restarted, "vault: not listed"
            restarted = True
        cur = nxt
    raise "vault: bad hint"


@internal
def _insert(account: address, key: uint256, hint: address):
    """
    @dev Links `account` (unlinked) with `key` after the last node whose key is below it,
         walking from `hint` when it is listed at or before that place, else from the head.
    """
    cur: address = hint
    if cur == account or self._node[cur] >> 160 == 0 or self._node[cur] >> 160 > key:
        cur = empty(address)
    word: uint256 = 0
    nxt: address = empty(address)
    for i: uint256 in range(constants.SORTED_MAX_WALK):
        word = self._node[cur]
        nxt = convert(word & constants.MASK160, address)
        if nxt == empty(address) or self._node[nxt] >> 160 >= key:
            break
        cur = nxt
    self._node[account] = convert(nxt, uint256) | (key << 160)
    self._node[cur] = ((word >> 160) << 160) | convert(account, uint256)


@internal
def _relist(account: address, word: uint256, prev_hint: address, insert_hint: address):
    """
    @dev Keeps `account` at its place in the sorted list after its position became `word`:
         listed iff it has debt. `prev_hint` is its predecessor before (O(1) when right),
         `insert_hint` its predecessor after; a position still between its neighbours only
         rewrites its key.
    """
    old: uint256 = self._node[account]
    key: uint256 = self._sort_key(word)
    if old == 0:
        if key != 0:
            self._insert(account, key, insert_hint)
        return
    prev: address = self._find_prev(account, prev_hint)
    nxt: uint256 = old & constants.MASK160
    if (
        key != 0
        and self._node[prev] >> 160 <= key
        and (nxt == 0 or key <= self._node[convert(nxt, address)] >> 160)
    ):
        self._node[account] = nxt | (key << 160)
        return
    self._node[prev] = ((self._node[prev] >> 160) << 160) | nxt  # unlink
    if key == 0:
        self._node[account] = 0
    else:
        self._insert(account, key, insert_hint)


@internal
@view
def _base_rate_at(t: uint256) -> uint256:
    """
    @dev The redemption base rate at `t`: halved every `BASE_RATE_HALF_LIFE`, linear in
         between (never below the exact exponential, at most 6% of it above; rounds up).
    """
    word: uint256 = self._base_rate_word
    dt: uint256 = t - (word >> 128)
    halvings: uint256 = dt // constants.BASE_RATE_HALF_LIFE
    if halvings >= 128:
        return 0
    b: uint256 = (word & constants.MASK128) >> halvings
    return b - b * (dt % constants.BASE_RATE_HALF_LIFE) // (2 * constants.BASE_RATE_HALF_LIFE)


@internal
@view
def _node_below(node: address, price: uint256, rate: uint256, lr_bps: uint256) -> bool:
    """
    @dev True for the head and for a position below the liquidation ratio (not redeemable).
    """
    return node == empty(address) or self._liquidatable_at(node, price, rate, lr_bps)


@internal
def _redeem_listed(
    amount: uint256, max_fee_bps: uint256, first_hint: address, partial_hint: address
) -> uint256:
    """
    @dev Burns up to `amount` of the caller's synth against the positions with the lowest
         collateral ratio at or above the liquidation ratio (below it they are for the
         liquidators), in list order: each loses debt and collateral of equal value at the
         oracle price (its collateral rounded down: the owner never loses at that price), a
         partly redeemed one keeps at least the minimum debt. The caller gets that collateral
         less the fee (the floor + the base rate, raised by the redeemed fraction of the
         supply / BETA; rounded up: owed to the protocol), which goes to the insurance fund.
         `first_hint`: the node before the first redeemable position; `partial_hint`: the
         new predecessor of the last, partly redeemed one.
    """
    assert amount != 0, "vault: zero amount"
    price: uint256 = oracle_guard._price_for_risk()
    rate: uint256 = self._accrue()
    params: uint256 = self._params
    lr_bps: uint256 = self._lr_bps(params)
    keep: uint256 = (self._min_debt_wad(params) * constants.WAD + price - 1) // price
    # the first redeemable position: after every one below the liquidation ratio
    start: address = first_hint
    cur: address = convert(self._node[start] & constants.MASK160, address)
    if not (
        self._node_below(start, price, rate, lr_bps)
        and not self._node_below(cur, price, rate, lr_bps)
    ):
        start = empty(address)
        cur = convert(self._node[start] & constants.MASK160, address)
        for i: uint256 in range(constants.SORTED_MAX_WALK):
            # the tail (every position below the ratio) ends the walk: never wrap to the head
            if cur == empty(address) or not self._node_below(cur, price, rate, lr_bps):
                break
            start = cur
            cur = convert(self._node[cur] & constants.MASK160, address)
    left: uint256 = amount
    out: uint256 = 0
    accrued: uint256 = 0
    for i: uint256 in range(constants.MAX_REDEEMED):
        if left == 0 or cur == empty(address):
            break
        word: uint256 = self._pos[cur]
        debt: uint256 = self._debt_at(word, rate)
        take: uint256 = min(left, debt)
        if take < debt and debt - take < keep:
            if debt <= keep:
                break  # cannot be redeemed without leaving dust (and is not written)
            take = debt - keep
        accrued += debt - ((word >> 96) & constants.MASK88)  # minted with the written word
        coll_taken: uint256 = take * price // (constants.WAD * _USD_PER_UNIT)  # rounds down
        left -= take
        out += coll_taken
        new_word: uint256 = self._store(
            cur, (word & constants.MASK96) - coll_taken, debt - take, rate
        )
        log PositionRedeemed(account=cur, debt=take, collateral=coll_taken)
        nxt: address = convert(self._node[cur] & constants.MASK160, address)
        if take == debt:
            self._node[cur] = 0
            cur = nxt
            continue
        # partly redeemed (the last one): its ratio rose, it moves right
        key: uint256 = self._sort_key(new_word)
        if nxt == empty(address) or key <= self._node[nxt] >> 160:
            self._node[cur] = convert(nxt, uint256) | (key << 160)
        else:
            self._node[start] = ((self._node[start] >> 160) << 160) | convert(nxt, uint256)
            self._insert(cur, key, partial_hint)
            cur = nxt
        break
    redeemed: uint256 = amount - left
    assert redeemed != 0, "vault: nothing to redeem"
    if self._node[start] & constants.MASK160 != convert(cur, uint256):
        self._node[start] = ((self._node[start] >> 160) << 160) | convert(cur, uint256)

    supply: uint256 = staticcall SYNTH.totalSupply()
    base: uint256 = min(
        self._base_rate_at(block.timestamp)
        + redeemed * constants.WAD // supply // constants.REDEMPTION_BETA,
        constants.WAD,
    )
    self._base_rate_word = base | (block.timestamp << 128)
    fee_wad: uint256 = min(base + constants.REDEMPTION_FEE_FLOOR_WAD, constants.WAD)
    assert fee_wad * constants.BPS <= max_fee_bps * constants.WAD, "vault: fee above max"
    fee: uint256 = (out * fee_wad + constants.WAD - 1) // constants.WAD  # rounds up
    if accrued != 0:
        extcall SYNTH.mint(INSURANCE.address, accrued)
    extcall SYNTH.burn(msg.sender, redeemed)
    self._push(msg.sender, out - fee)
    self._push(INSURANCE.address, fee)
    log Redemption(
        redeemer=msg.sender, amount=redeemed, paid=out - fee, fee=fee, base_rate_wad=base
    )
    return redeemed


@internal
def _set_params(p: RiskParams):
    """
    @dev Hard bounds: LR > 100% + penalty (a liquidation at the threshold can pay its
         penalty), MCR > LR, penalty and fee < 20%, min debt <= 1M USD.
    """
    assert self._rate_word & VAULT_DELISTED == 0, "vault: settled"
    assert (
        p.liquidation_penalty_bps >= 100 and p.liquidation_penalty_bps <= MAX_PENALTY_BPS
    ), "vault: penalty bounds"
    assert (
        p.liquidation_ratio_bps > constants.BPS + p.liquidation_penalty_bps
    ), "vault: ratio bounds"
    assert p.mcr_bps > p.liquidation_ratio_bps and p.mcr_bps <= MAX_MCR_BPS, "vault: mcr bounds"
    assert p.protocol_share_bps <= constants.BPS, "vault: share bounds"
    assert (
        p.min_debt_usd >= constants.WAD and p.min_debt_usd <= MIN_DEBT_MAX_WAD
    ), "vault: min debt bounds"
    assert p.stability_fee_bps <= MAX_FEE_BPS, "vault: fee bounds"
    assert p.debt_ceiling <= constants.MASK96, "vault: ceiling bounds"
    old: uint256 = self._params
    new: uint256 = (
        p.mcr_bps
        | (p.liquidation_ratio_bps << 16)
        | (p.liquidation_penalty_bps << 32)
        | (p.protocol_share_bps << 48)
        | (p.min_debt_usd << 64)
        | (p.debt_ceiling << 160)
    )
    if old != new:
        self._log_change("mcr_bps", self._mcr_bps(old), p.mcr_bps)
        self._log_change("liquidation_ratio_bps", self._lr_bps(old), p.liquidation_ratio_bps)
        self._log_change(
            "liquidation_penalty_bps", self._penalty_bps(old), p.liquidation_penalty_bps
        )
        self._log_change("protocol_share_bps", self._share_bps(old), p.protocol_share_bps)
        self._log_change("min_debt_usd", self._min_debt_wad(old), p.min_debt_usd)
        self._log_change("debt_ceiling", old >> 160, p.debt_ceiling)
        self._params = new
    if p.stability_fee_bps != self.stability_fee_bps:
        self._accrue()  # fees up to now at the old rate
        self._log_change("stability_fee_bps", self.stability_fee_bps, p.stability_fee_bps)
        self.stability_fee_bps = p.stability_fee_bps
        fee_per_s: uint256 = p.stability_fee_bps * constants.WAD // (constants.BPS * constants.YEAR)
        self._rate_word = (self._rate_word & (2**192 - 1)) | (fee_per_s << 192)


@internal
def _lower_debt_ceiling(new_ceiling: uint256):
    p: uint256 = self._params
    assert new_ceiling < p >> 160, "vault: not lower"
    self._log_change("debt_ceiling", p >> 160, new_ceiling)
    self._params = (p & constants.MASK160) | (new_ceiling << 160)


@internal
@view
def _risk_params() -> RiskParams:
    p: uint256 = self._params
    return RiskParams(
        mcr_bps=self._mcr_bps(p),
        liquidation_ratio_bps=self._lr_bps(p),
        liquidation_penalty_bps=self._penalty_bps(p),
        protocol_share_bps=self._share_bps(p),
        min_debt_usd=self._min_debt_wad(p),
        stability_fee_bps=self.stability_fee_bps,
        debt_ceiling=p >> 160,
    )


@internal
@view
def _max_mintable(account: address) -> uint256:
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = self._current(account)
    price: uint256 = oracle_guard._mark_wad()
    limit: uint256 = (
        self._usd(coll) * constants.BPS * constants.WAD // (price * self._mcr_bps(self._params))
    )
    return limit - debt if limit > debt else 0


@internal
def _log_change(name: String[32], old: uint256, new: uint256):
    if old != new:
        log ParameterSet(name=name, old_value=old, new_value=new)
