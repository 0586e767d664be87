# pragma version 0.4.3
"""
@title HostileToken
@notice Test double for the exploit regressions: an ERC-20 that can (a) call back into a
        target with arbitrary calldata in the middle of `transfer`/`transferFrom` (the
        Curve/Vyper 2023 reentrancy class), (b) return false instead of reverting, (c) take a
        fee on transfer, (d) blacklist an address. Records whether the callback succeeded.
"""

from ethereum.ercs import IERC20

implements: IERC20

name: public(String[16])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# @dev Reentrancy: call `hook_target` with `hook_data` once, during the next transfer.
hook_target: public(address)
hook_data: public(Bytes[1024])
hook_armed: public(bool)
hook_called: public(bool)
hook_succeeded: public(bool)
hook_returndata: public(Bytes[256])
# @dev Return false (without moving funds) instead of succeeding.
return_false: public(bool)
# @dev Fee kept by the token on each transfer, bps.
fee_bps: public(uint256)
# @dev Transfers to this address revert.
blacklisted: public(HashMap[address, bool])


@deploy
def __init__(decimals_: uint8):
    self.name = "Hostile USD"
    self.symbol = "hUSD"
    self.decimals = decimals_


@external
def faucet(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@external
def arm(target: address, data: Bytes[1024]):
    self.hook_target = target
    self.hook_data = data
    self.hook_armed = True
    self.hook_called = False


@external
def execute(target: address, data: Bytes[1024]) -> Bytes[256]:
    """
    @notice Act as a user: the token itself holds the position it attacks from, so that a
            re-entrant call comes from the position's owner.
    """
    return raw_call(target, data, max_outsize=256)


@external
def self_approve(spender: address, amount: uint256):
    self.allowance[self][spender] = amount


@external
def set_return_false(flag: bool):
    self.return_false = flag


@external
def set_fee_bps(bps: uint256):
    self.fee_bps = bps


@external
def set_blacklisted(who: address, flag: bool):
    self.blacklisted[who] = flag


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    return self._move(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    if self.return_false:
        return False
    self.allowance[owner][msg.sender] -= amount
    return self._move(owner, to, amount)


@internal
def _move(owner: address, to: address, amount: uint256) -> bool:
    if self.return_false:
        return False
    assert not self.blacklisted[to], "hostile: blacklisted"
    self._maybe_call_back()
    fee: uint256 = amount * self.fee_bps // 10_000
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee
    log IERC20.Transfer(sender=owner, receiver=to, value=amount - fee)
    return True


@internal
def _maybe_call_back():
    if self.hook_armed:
        self.hook_armed = False
        self.hook_called = True
        ok: bool = False
        out: Bytes[256] = b""
        ok, out = raw_call(
            self.hook_target, self.hook_data, max_outsize=256, revert_on_failure=False
        )
        self.hook_succeeded = ok
        self.hook_returndata = out
