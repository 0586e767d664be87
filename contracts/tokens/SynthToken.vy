# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title SynthToken
@custom:contract-name SynthToken
@notice A synthetic equity (e.g. sTSLA, 18 decimals, one token tracks one share through the
        oracle): snekmate's ERC-20 with EIP-2612 `permit`, minted and burned only by the vault
        that created it. Holders cannot burn directly, so `totalSupply()` always equals the
        vault's recorded debt (docs/spec.md §7 invariant 2).
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from interfaces import ISynthToken
from snekmate.auth import ownable
from snekmate.tokens import erc20

implements: IERC20
implements: IERC20Detailed
implements: ISynthToken

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.IERC20,
    erc20.IERC20Detailed,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
)


# @dev The only account that mints and burns: the vault that deployed this token.
vault: public(immutable(address))


@deploy
def __init__(name_: String[25], symbol_: String[5]):
    """
    @dev Deployed by its vault (from a blueprint); the deployer becomes the vault.
    @param name_ E.g. "Synthetic Tesla".
    @param symbol_ E.g. "sTSLA".
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, 18, name_, "1")
    vault = msg.sender


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints `amount` to `to`. Vault only.
    @param to Receiver.
    @param amount Synth units (1e18 = one share).
    """
    assert msg.sender == vault, "synth: only vault"
    erc20._mint(to, amount)


@external
def burn(owner: address, amount: uint256):
    """
    @notice Burns `amount` of `owner`'s tokens. Vault only; the vault burns only from the
            account that called it (repay, close, liquidate).
    @param owner Holder.
    @param amount Synth units.
    """
    assert msg.sender == vault, "synth: only vault"
    erc20._burn(owner, amount)
