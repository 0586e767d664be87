# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title MockStablecoin
@notice A USD stablecoin for local chains and tests (6 or 18 decimals): snekmate's ERC-20
        with a faucet anyone may call. Never deployed on a public network by the deploy script.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable
from snekmate.tokens import erc20

implements: IERC20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.IERC20,
    erc20.IERC20Detailed,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
)


@deploy
def __init__(name_: String[25], symbol_: String[5], decimals_: uint8):
    """
    @param name_ Token name.
    @param symbol_ Token symbol.
    @param decimals_ 6 (USDC-like) or 18.
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")


@external
def faucet(to: address, amount: uint256):
    """
    @notice Mints `amount` to `to` (test token: unrestricted).
    @param to Receiver.
    @param amount Raw units.
    """
    erc20._mint(to, amount)
