# pragma version 0.4.3
"""
@title MockPoolMarket
@notice Test double of the perp market as its liquidity pool sees it: settable unrealized
        PnL, required NAV and trading status, and a way to make the pool pay.
"""


interface IPool:
    def pay(to: address, amount: uint256): nonpayable


pool_pnl: public(int256)
required_nav: public(uint256)
lp_open: public(bool)


@deploy
def __init__():
    self.lp_open = True


@external
def set_state(pnl: int256, required: uint256, is_open: bool):
    self.pool_pnl = pnl
    self.required_nav = required
    self.lp_open = is_open


@external
def pay_from(pool: address, to: address, amount: uint256):
    extcall IPool(pool).pay(to, amount)
