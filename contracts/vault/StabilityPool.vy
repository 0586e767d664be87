# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title StabilityPool
@custom:contract-name StabilityPool
@notice One vault's stability pool (docs/design/vault.md): synth holders deposit the synth; a
        liquidation through the pool (`liquidate`, anyone) burns the pool's synth instead of
        the keeper's and hands the pool the seized collateral at the penalty's discount, less
        the insurance fund's share and the keeper's reward (`KEEPER_SHARE_BPS` of the
        penalty). Every deposit shares losses of synth and gains of collateral pro rata, in
        O(1) per operation: the product-sum scheme (a product P of the factors (1 - loss /
        total), a sum S of the gains per unit weighted by P, per epoch and scale) with its
        precision guards: P stays >= 1e9 (scale factor 1e9; a factor that would take it
        below moves to the next scale, at most two at once) and an emptied pool starts a new
        epoch.
        Just-in-time deposits: a deposit takes part in liquidations (their losses and gains)
        only once it is at least one window old: deposits of window w (one hour) join the
        pool together when window w + 2 begins, at the first operation of the pool after
        that, with the pool's P and S of that moment. Until then it can be withdrawn, earns
        nothing and loses nothing: synth put in right before a liquidation takes no share of
        it from the depositors who carried the risk.
        Withdrawals and claims need no price: a liquidation through the pool always pays it
        more collateral than the synth it burns is worth at the oracle price.
@dev Units: deposits in synth units (1e18 = one share); gains are kept in USD wad (collateral
     units x 10^(18 - decimals)) and paid rounded down to collateral units; P in 1e18; S in
     USD wad x 1e18 per 1e18 of deposit.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from contracts.lib import constants


interface IVault:
    def liquidate_for(
        account: address,
        max_repay: uint256,
        keeper: address,
        prev_hint: address,
        insert_hint: address,
    ) -> (uint256, uint256): nonpayable


# @dev P never goes below 1e9 (the scale factor): a loss that would take it there multiplies
#      it by 1e9 and starts the next scale.
SCALE_FACTOR: constant(uint256) = 10**9
# @dev A deposit joins the pool when the second window after its own begins (age 1 h to 2 h).
WINDOW: constant(uint256) = 3_600
MASK32: constant(uint256) = 2**32 - 1
MASK64: constant(uint256) = 2**64 - 1
MASK96: constant(uint256) = 2**96 - 1
MASK128: constant(uint256) = 2**128 - 1

# @dev The vault whose liquidations this pool absorbs.
VAULT: public(immutable(IVault))
# @dev The vault's synth (what depositors put in).
SYNTH: public(immutable(IERC20))
# @dev The vault's collateral (what depositors gain).
COLLATERAL: public(immutable(IERC20))
_USD_PER_UNIT: immutable(uint256)

# @dev total deposits taking part [0, 128) | P [128, 192) | scale [192, 224) | epoch [224, 256).
_state: uint256
# @dev (epoch << 32 | scale) -> S: collateral gains (USD wad) per 1e18 of deposit, x P.
_sums: HashMap[uint256, uint256]
# @dev Per depositor: its deposit as of its snapshot [0, 128) | the snapshot's P, scale and
#      epoch [128, 256) (the layout of `_state`).
_deposit: HashMap[address, uint256]
# @dev Per depositor: S of its snapshot.
_deposit_sum: HashMap[address, uint256]
# @dev Per depositor: synth waiting to join [0, 128) | its window [128, 192).
_pending: HashMap[address, uint256]
# @dev Waiting synth of windows of each parity: per half (parity 0 low, 1 high), amount
#      [0, 96) | window [96, 128).
_queue: uint256
# @dev Window -> the pool's `_state` (P, scale, epoch; no total) when its deposits joined.
_joined_state: HashMap[uint256, uint256]
# @dev Window -> S when its deposits joined.
_joined_sum: HashMap[uint256, uint256]


# @dev `depositor` put `amount` synth in (joining the pool at `joins_at`).
event Deposit:
    depositor: indexed(address)
    amount: uint256
    joins_at: uint256


# @dev `depositor` took `amount` synth out.
event Withdraw:
    depositor: indexed(address)
    amount: uint256


# @dev `depositor` was paid `collateral` of gains.
event GainPaid:
    depositor: indexed(address)
    collateral: uint256


# @dev The deposits of `window` (`amount` synth) joined the pool.
event Joined:
    window: uint256
    amount: uint256


# @dev `keeper` liquidated `account` through the pool: `debt` synth of the pool burned for
#      `collateral` gained; `total` deposits after, `epoch` and `scale` of P after.
event Offset:
    keeper: indexed(address)
    account: indexed(address)
    debt: uint256
    collateral: uint256
    total: uint256
    epoch: uint256
    scale: uint256


@deploy
def __init__(vault: address, synth: IERC20, collateral: IERC20):
    """
    @param vault The vault (its `liquidate_for`).
    @param synth The vault's synth.
    @param collateral The vault's collateral token.
    """
    decimals_: uint8 = staticcall IERC20Detailed(collateral.address).decimals()
    assert decimals_ <= 18, "sp: decimals > 18"
    VAULT = IVault(vault)
    SYNTH = synth
    COLLATERAL = collateral
    _USD_PER_UNIT = 10**convert(18 - decimals_, uint256)
    self._state = constants.WAD << 128


# ---- views ---------------------------------------------------------------------------


@internal
@view
def _window() -> uint256:
    return block.timestamp // WINDOW


@internal
@view
def _value(amount: uint256, snap: uint256, snap_sum: uint256, st: uint256) -> (uint256, uint256):
    """
    @dev A deposit of `amount` at snapshot (`snap`, `snap_sum`) under the pool's state `st`:
         (compounded deposit, gains in USD wad), both rounded down (in the pool's favour).
         A deposit two scales behind, or from an earlier epoch, is worth nothing; the gains
         of the scale after its own count / 1e9.
    """
    if amount == 0:
        return 0, 0
    p0: uint256 = (snap >> 128) & MASK64
    scale0: uint256 = (snap >> 192) & MASK32
    epoch0: uint256 = snap >> 224
    key: uint256 = (epoch0 << 32) | scale0
    gain: uint256 = (
        amount
        * (self._sums[key] - snap_sum + self._sums[key + 1] // SCALE_FACTOR) // p0 // constants.WAD
    )
    if epoch0 != st >> 224:
        return 0, gain
    ds: uint256 = ((st >> 192) & MASK32) - scale0
    p: uint256 = (st >> 128) & MASK64
    if ds == 0:
        return amount * p // p0, gain
    if ds == 1:
        return amount * p // p0 // SCALE_FACTOR, gain
    return 0, gain


@internal
@view
def _joined(pend: uint256, window_now: uint256) -> bool:
    return pend & MASK128 != 0 and (pend >> 128) + 2 <= window_now


@internal
@view
def _position(depositor: address, st: uint256) -> (uint256, uint256, uint256):
    """
    @dev (deposit taking part, compounded; pending synth; gains in USD wad), with pending
         synth whose window joined counted in the first.
    """
    value: uint256 = 0
    gain: uint256 = 0
    value, gain = self._value(
        self._deposit[depositor] & MASK128,
        self._deposit[depositor],
        self._deposit_sum[depositor],
        st,
    )
    pend: uint256 = self._pending[depositor]
    if self._joined(pend, self._window()):
        w: uint256 = pend >> 128
        snap: uint256 = self._joined_state[w]
        snap_sum: uint256 = self._joined_sum[w]
        if snap == 0:  # (views) old enough, not joined yet: it joins at the state now
            snap = st
            snap_sum = self._sums[((st >> 224) << 32) | ((st >> 192) & MASK32)]
        v: uint256 = 0
        g: uint256 = 0
        v, g = self._value(pend & MASK128, snap, snap_sum, st)
        return value + v, 0, gain + g
    return value, pend & MASK128, gain


@external
@view
def deposit_of(depositor: address) -> (uint256, uint256, uint256):
    """
    @notice What `depositor` has in the pool now.
    @param depositor The depositor.
    @return (uint256, uint256, uint256) Synth taking part (compounded, rounded down), synth
            still waiting to join, collateral gains (units, rounded down).
    """
    value: uint256 = 0
    pending: uint256 = 0
    gain: uint256 = 0
    value, pending, gain = self._position(depositor, self._current_state())
    return value, pending, gain // _USD_PER_UNIT


@internal
@view
def _current_state() -> uint256:
    """
    @dev `_state` with the windows that may join counted (what `_join` would store).
    """
    st: uint256 = self._state
    q: uint256 = self._queue
    for half: uint256 in range(2):
        slot: uint256 = (q >> (128 * half)) & MASK128
        if slot & MASK96 != 0 and (slot >> 96) + 2 <= self._window():
            st += slot & MASK96
    return st


@external
@view
def total_deposits() -> uint256:
    """
    @notice Synth that takes part in liquidations now (what the pool can burn).
    @return uint256 Synth units.
    """
    return self._current_state() & MASK128


@external
@view
def pending_deposits() -> uint256:
    """
    @notice Synth deposited within the last window or two, not taking part yet.
    @return uint256 Synth units.
    """
    return self._waiting()


@internal
@view
def _waiting() -> uint256:
    q: uint256 = self._queue
    out: uint256 = 0
    for half: uint256 in range(2):
        slot: uint256 = (q >> (128 * half)) & MASK128
        if slot & MASK96 != 0 and (slot >> 96) + 2 > self._window():
            out += slot & MASK96
    return out


@external
@view
def product_sum() -> (uint256, uint256, uint256, uint256):
    """
    @notice The product-sum state now: P (1e18), scale, epoch and S of that epoch and scale.
    @return (uint256, uint256, uint256, uint256) P, scale, epoch, S.
    """
    st: uint256 = self._current_state()
    return (
        (st >> 128) & MASK64,
        (st >> 192) & MASK32,
        st >> 224,
        self._sums[((st >> 224) << 32) | ((st >> 192) & MASK32)],
    )


# ---- state changes -------------------------------------------------------------------


@internal
def _join():
    """
    @dev The windows whose deposits are old enough join the pool, at its P and S now.
    """
    q: uint256 = self._queue
    if q == 0:
        return
    w_now: uint256 = self._window()
    st: uint256 = self._state
    for half: uint256 in range(2):
        slot: uint256 = (q >> (128 * half)) & MASK128
        amount: uint256 = slot & MASK96
        w: uint256 = slot >> 96
        if amount != 0 and w + 2 <= w_now:
            self._joined_state[w] = st & ~MASK128
            self._joined_sum[w] = self._sums[((st >> 224) << 32) | ((st >> 192) & MASK32)]
            st += amount
            q &= ~(MASK128 << (128 * half))
            log Joined(window=w, amount=amount)
    if q != self._queue:
        self._queue = q
        self._state = st


@internal
def _settle(depositor: address) -> (uint256, uint256):
    """
    @dev Brings `depositor`'s deposit to now: joined pending synth merged in, gains paid, a
         new snapshot. Returns (deposit taking part, pending synth).
    """
    st: uint256 = self._state
    value: uint256 = 0
    pending: uint256 = 0
    gain: uint256 = 0
    value, pending, gain = self._position(depositor, st)
    if pending == 0:
        self._pending[depositor] = 0
    if value != 0 or self._deposit[depositor] != 0:
        self._deposit[depositor] = value | ((st >> 128) << 128)
        self._deposit_sum[depositor] = self._sums[((st >> 224) << 32) | ((st >> 192) & MASK32)]
    paid: uint256 = gain // _USD_PER_UNIT  # rounds down
    if paid != 0:
        assert extcall COLLATERAL.transfer(
            depositor, paid, default_return_value=True
        ), "sp: transfer out failed"
        log GainPaid(depositor=depositor, collateral=paid)
    return value, pending


@internal
def _queue_add(w: uint256, amount: uint256):
    half: uint256 = w % 2
    q: uint256 = self._queue
    slot: uint256 = (q >> (128 * half)) & MASK128
    if slot >> 96 != w:
        slot = w << 96  # that parity's older window has joined (`_join` ran first)
    slot += amount
    assert slot & MASK96 >= amount, "sp: overflow"
    self._queue = (q & ~(MASK128 << (128 * half))) | (slot << (128 * half))


@internal
def _queue_sub(w: uint256, amount: uint256):
    self._queue -= amount << (128 * (w % 2))


@external
def deposit(amount: uint256):
    """
    @notice Puts `amount` of your synth in the pool (approve the pool first). It joins the
            liquidations when the second hour-window after this one begins; until then it
            earns nothing, loses nothing and can be withdrawn. Pays your gains so far.
    @param amount Synth units.
    """
    assert amount != 0, "sp: zero amount"
    self._join()
    value: uint256 = 0
    pending: uint256 = 0
    value, pending = self._settle(msg.sender)
    w: uint256 = self._window()
    pend: uint256 = self._pending[msg.sender]
    if pending != 0 and pend >> 128 != w:
        self._queue_sub(pend >> 128, pending)  # the older waiting synth moves to this window
        self._queue_add(w, pending)
    self._queue_add(w, amount)
    self._pending[msg.sender] = (pending + amount) | (w << 128)
    assert extcall SYNTH.transferFrom(msg.sender, self, amount), "sp: transfer in failed"
    log Deposit(depositor=msg.sender, amount=amount, joins_at=(w + 2) * WINDOW)


@external
def withdraw(amount: uint256) -> uint256:
    """
    @notice Takes up to `amount` synth out (waiting synth first) and pays your gains. No price
            needed.
    @param amount Synth units (more than you have: all of it).
    @return uint256 Synth withdrawn.
    """
    self._join()
    value: uint256 = 0
    pending: uint256 = 0
    value, pending = self._settle(msg.sender)
    out: uint256 = min(amount, value + pending)
    assert out != 0, "sp: nothing to withdraw"
    from_pending: uint256 = min(out, pending)
    if from_pending != 0:
        pend: uint256 = self._pending[msg.sender]
        self._queue_sub(pend >> 128, from_pending)
        self._pending[msg.sender] = pend - from_pending
    from_active: uint256 = out - from_pending
    if from_active != 0:
        self._deposit[msg.sender] -= from_active
        self._state -= from_active
    assert extcall SYNTH.transfer(msg.sender, out), "sp: transfer out failed"
    log Withdraw(depositor=msg.sender, amount=out)
    return out


@external
def claim():
    """
    @notice Pays your collateral gains (and starts your deposit's new snapshot). No price
            needed.
    """
    self._join()
    self._settle(msg.sender)


@external
def liquidate(
    account: address, prev_hint: address = empty(address), insert_hint: address = empty(address)
) -> uint256:
    """
    @notice Liquidates `account` with the pool's synth (needs a usable price; the vault's
            rules): the pool burns the repayment and gains the collateral; you are paid
            `KEEPER_SHARE_BPS` of the penalty in collateral and need no synth. When the pool
            is short of what the rules repay, the vault reverts and `SynthVault.liquidate`
            (you repay) remains.
    @param account The position.
    @param prev_hint Its predecessor in the vault's sorted list.
    @param insert_hint Its predecessor after the liquidation.
    @return uint256 Synth of the pool burned.
    """
    self._join()
    st: uint256 = self._state
    total: uint256 = st & MASK128
    assert total != 0, "sp: empty"
    repaid: uint256 = 0
    gained: uint256 = 0
    repaid, gained = extcall VAULT.liquidate_for(account, total, msg.sender, prev_hint, insert_hint)
    key: uint256 = ((st >> 224) << 32) | ((st >> 192) & MASK32)
    p: uint256 = (st >> 128) & MASK64
    # gains per unit round down, losses per unit round up: what depositors are owed never
    # exceeds what the pool holds
    self._sums[key] += gained * _USD_PER_UNIT * constants.WAD // total * p
    epoch: uint256 = st >> 224
    scale: uint256 = (st >> 192) & MASK32
    left: uint256 = total - repaid
    factor: uint256 = constants.WAD - (repaid * constants.WAD + total - 1) // total
    if factor == 0:
        # emptied (or all but dust): a new epoch, every deposit of this one is spent
        epoch += 1
        scale = 0
        p = constants.WAD
        left = 0
    else:
        new_p: uint256 = p * factor // constants.WAD
        if new_p < SCALE_FACTOR:
            scale += 1
            new_p = p * factor * SCALE_FACTOR // constants.WAD
            if new_p < SCALE_FACTOR:
                scale += 1
                new_p = p * factor * SCALE_FACTOR * SCALE_FACTOR // constants.WAD
        p = new_p
    self._state = left | (p << 128) | (scale << 192) | (epoch << 224)
    log Offset(
        keeper=msg.sender,
        account=account,
        debt=repaid,
        collateral=gained,
        total=left,
        epoch=epoch,
        scale=scale,
    )
    return repaid
