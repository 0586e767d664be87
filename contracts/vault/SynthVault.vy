# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title SynthVault
@custom:contract-name SynthVault
@notice Over-collateralized synthetic equity vault (docs/spec.md §3): deposit a USD stablecoin,
        mint the synth (e.g. sTSLA) against it at >= 150% collateral, repay, withdraw; anyone
        liquidates a position below 125%, repaying only what restores 150%.
        Market hours (docs/spec.md §5): deposit, burn and close always work (also while
        paused); mint, withdraw against debt and liquidate need a fresh OPEN price.
@dev The users' and keepers' paths and `ISynthVault`'s views run here. Every other function of
     the vault's interface (`docs/abi/SynthVault.json`: delisting, parameters, pause,
     roles and the other views) runs in this vault's storage from its `SynthVaultExt`,
     reached through `__default__` by delegatecall (docs/architecture.md). Deployed from a
     blueprint by `SynthFactory.deploy_vault`, which then calls `initialize`.
"""

from ethereum.ercs import IERC20
from interfaces import IInsuranceFund
from interfaces import ISynthToken
from interfaces import ISynthVault
from snekmate.auth import access_control
from snekmate.utils import pausable
from contracts.auth import roles
from contracts.vault import synth_vault

implements: ISynthVault

initializes: access_control
initializes: roles[access_control := access_control]
initializes: pausable
initializes: synth_vault[pausable := pausable]

# @dev Words of return data `__default__` hands back (the largest answer of the extension,
#      `risk_params()`, is 7 words; ABI decoders read the words they expect).
EXT_RETURN_WORDS: constant(uint256) = 8

# @dev The selector of `SynthVaultExt.redeem`: the delisted redemption, delegated by `redeem`.
_REDEEM_DELISTED: constant(Bytes[4]) = method_id("redeem(uint256,uint256,address,address)")

# @dev The `SynthVaultExt` this vault delegates to (created by the constructor with the same
#      immutables).
EXTENSION: public(immutable(address))


@deploy
def __init__(
    synth_blueprint: address,
    name_: String[25],
    symbol_: String[5],
    collateral: IERC20,
    insurance: IInsuranceFund,
    ext_blueprint: address,
):
    """
    @dev Deploys the synth (this vault is its only minter) and the extension from their
         blueprints. The deployer (the factory) holds DEFAULT_ADMIN until it calls
         `initialize` in the same transaction, which hands it to the vault's admin.
    @param synth_blueprint Blueprint of `SynthToken`.
    @param name_ Synth name, e.g. "Synthetic Tesla".
    @param symbol_ Synth symbol, e.g. "sTSLA".
    @param collateral The USD stablecoin.
    @param insurance The insurance fund (grant it MARKET_ROLE for this vault).
    @param ext_blueprint Blueprint of `SynthVaultExt`.
    """
    access_control.__init__()
    pausable.__init__()
    synth: ISynthToken = ISynthToken(create_from_blueprint(synth_blueprint, name_, symbol_))
    synth_vault.__init__(synth, collateral, insurance)
    EXTENSION = create_from_blueprint(ext_blueprint, synth, collateral, insurance)


@external
@reentrant
def __default__() -> uint256[EXT_RETURN_WORDS]:
    """
    @notice Every function of the vault's interface not defined here runs in `SynthVaultExt`
            by delegatecall; its revert reason comes back as it is.
    @dev Not `nonreentrant`: the extension's functions take the lock themselves.
    @return uint256[8] The extension's answer, padded with zero words.
    """
    data: Bytes[32 * EXT_RETURN_WORDS] = raw_call(
        EXTENSION, msg.data, max_outsize=32 * EXT_RETURN_WORDS, is_delegate_call=True
    )
    out: uint256[EXT_RETURN_WORDS] = empty(uint256[EXT_RETURN_WORDS])
    for i: uint256 in range(EXT_RETURN_WORDS):
        if 32 * i >= len(data):
            break
        out[i] = convert(extract32(data, 32 * i), uint256)
    return out


# ---- user actions ----------------------------------------------------------------------


@external
def deposit(
    amount: uint256, prev_hint: address = empty(address), insert_hint: address = empty(address)
):
    """
    @notice Adds `amount` collateral to your position. Always allowed.
    @param amount Collateral-token units.
    @param prev_hint The position's predecessor in the sorted list now (`sorted_hints`).
    @param insert_hint Its predecessor after the call (or a position before it).
    """
    synth_vault._deposit(amount, prev_hint, insert_hint, True)


@external
def withdraw(
    amount: uint256, prev_hint: address = empty(address), insert_hint: address = empty(address)
):
    """
    @notice Takes `amount` collateral out; with debt, needs a usable price and leaves CR >= MCR.
    @param amount Collateral-token units.
    @param prev_hint The position's predecessor in the sorted list now (`sorted_hints`).
    @param insert_hint Its predecessor after the call (or a position before it).
    """
    synth_vault._withdraw(amount, prev_hint, insert_hint)


@external
def mint(
    amount: uint256, prev_hint: address = empty(address), insert_hint: address = empty(address)
):
    """
    @notice Mints `amount` synth against your position: needs a usable price, CR >= MCR after,
            debt worth >= the minimum, within the debt ceiling; not while paused.
    @param amount Synth units (1e18 = one share).
    @param prev_hint The position's predecessor in the sorted list now (`sorted_hints`).
    @param insert_hint Its predecessor after the call (or a position before it).
    """
    synth_vault._mint(amount, prev_hint, insert_hint)


@external
def burn(
    amount: uint256, prev_hint: address = empty(address), insert_hint: address = empty(address)
):
    """
    @notice Burns `amount` of your synth against your debt. Always allowed; may not leave dust.
    @param amount Synth units.
    @param prev_hint The position's predecessor in the sorted list now (`sorted_hints`).
    @param insert_hint Its predecessor after the call (or a position before it).
    """
    synth_vault._burn(amount, prev_hint, insert_hint)


@external
def open(
    collateral: uint256,
    debt: uint256,
    prev_hint: address = empty(address),
    insert_hint: address = empty(address),
):
    """
    @notice Deposit and mint in one call.
    @param collateral Collateral-token units (0 to only mint).
    @param debt Synth units to mint (0 to only deposit).
    @param prev_hint The position's predecessor in the sorted list now (`sorted_hints`).
    @param insert_hint Its predecessor after the call (or a position before it).
    """
    assert collateral != 0 or debt != 0, "vault: zero amount"
    if collateral != 0:
        synth_vault._deposit(collateral, prev_hint, insert_hint, debt == 0)  # relisted by mint
    if debt != 0:
        synth_vault._mint(debt, prev_hint, insert_hint)


@external
def close(prev_hint: address = empty(address)):
    """
    @notice Repays all your debt (with accrued fees) from your synth balance and returns all
            your collateral. Always allowed.
    @param prev_hint The position's predecessor in the sorted list (`sorted_hints`).
    """
    synth_vault._close(prev_hint)


@external
def liquidate(
    account: address,
    max_repay: uint256,
    prev_hint: address = empty(address),
    insert_hint: address = empty(address),
) -> uint256:
    """
    @notice Liquidates `account` below the liquidation ratio: repays at most `max_repay` of
            its debt with your synth and pays you the repaid value x (1 + penalty) in
            collateral. What your synth lacks (the fee this very call accrues, which no one
            could hold before) is bought from the insurance fund's synth at the oracle price
            out of what you receive.
    @param account The position.
    @param max_repay Most synth you will repay.
    @param prev_hint The position's predecessor in the sorted list now (`sorted_hints`).
    @param insert_hint Its predecessor after the call (or a position before it).
    @return uint256 Synth repaid.
    """
    return synth_vault._liquidate(account, max_repay, empty(address), prev_hint, insert_hint)[0]


@external
def liquidate_for(
    account: address,
    max_repay: uint256,
    keeper: address,
    prev_hint: address,
    insert_hint: address,
) -> (uint256, uint256):
    """
    @notice `liquidate`, paying `keeper` `KEEPER_SHARE_BPS` of the penalty out of what you
            receive (the stability pool's liquidations: the pool repays, the keeper is paid).
    @param account The position.
    @param max_repay Most synth you will burn.
    @param keeper Receives the keeper's share of the penalty, in collateral.
    @param prev_hint The position's predecessor in the sorted list now (`sorted_hints`).
    @param insert_hint Its predecessor after the call (or a position before it).
    @return (uint256, uint256) Synth repaid, collateral units paid to you.
    """
    return synth_vault._liquidate(account, max_repay, keeper, prev_hint, insert_hint)


@external
def redeem(
    amount: uint256,
    max_fee_bps: uint256 = 0,
    first_hint: address = empty(address),
    partial_hint: address = empty(address),
) -> uint256:
    """
    @notice While listed: burns up to `amount` of your synth against the riskiest positions
            at or above the liquidation ratio for collateral worth it at the oracle price,
            less the redemption fee (the 0.5% floor + the base rate, which rises with volume
            and halves every 12 h), at most `max_fee_bps`; needs a usable price. After a
            delisting (once every debt is settled): every synth unit at one rate,
            `redemption_rate_wad` (the fee and hints are then ignored).
    @param amount Synth units.
    @param max_fee_bps Highest fee you accept, bps of the collateral (listed only).
    @param first_hint The list node before the first redeemable position (`redemption_hints`).
    @param partial_hint The new predecessor of the partly redeemed position.
    @return uint256 Listed: synth redeemed (<= amount). Delisted: collateral units paid.
    """
    if synth_vault.settlement_price_wad != 0:
        # cold: the delisted redemption runs in the extension, under the lock of this call
        data: Bytes[32] = raw_call(
            EXTENSION,
            abi_encode(amount, max_fee_bps, first_hint, partial_hint, method_id=_REDEEM_DELISTED),
            max_outsize=32,
            is_delegate_call=True,
        )
        return abi_decode(data, uint256)
    return synth_vault._redeem_listed(amount, max_fee_bps, first_hint, partial_hint)


# ---- views (ISynthVault) ----------------------------------------------------------------


@external
@view
def position(account: address) -> (uint256, uint256):
    """
    @notice (collateral, debt including fees accrued to now).
    @param account The position.
    @return (uint256, uint256) Collateral units, synth units.
    """
    return synth_vault._current(account)


@external
@view
def collateral_ratio(account: address) -> uint256:
    """
    @notice Collateral value / debt value at the last price (1e18 = 100%); max uint without debt.
    @param account The position.
    @return uint256 Ratio, 1e18 = 100%.
    """
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = synth_vault._current(account)
    if debt == 0:
        return max_value(uint256)
    return (
        synth_vault._usd(coll)
        * 10**18
        * 10**18 // (debt * synth_vault.oracle_guard._mark_wad())
    )


@external
@view
def is_liquidatable(account: address) -> bool:
    """
    @notice True when `liquidate(account, ...)` would succeed now (usable price, below ratio).
    @param account The position.
    @return bool Liquidatable.
    """
    price: uint256 = 0
    usable: bool = False
    price, usable = synth_vault._usable_price()
    return usable and synth_vault._liquidatable_at(
        account, price, synth_vault._rate_now(), synth_vault._lr_bps(synth_vault._params)
    )


@external
@view
def liquidatable(accounts: DynArray[address, 500]) -> DynArray[bool, 500]:
    """
    @notice `is_liquidatable` for up to 500 accounts in one call (keepers).
    @param accounts Positions.
    @return DynArray[bool, 500] One flag per account.
    """
    price: uint256 = 0
    usable: bool = False
    price, usable = synth_vault._usable_price()
    out: DynArray[bool, 500] = []
    if not usable:
        for a: address in accounts:
            out.append(False)
        return out
    rate: uint256 = synth_vault._rate_now()
    lr_bps: uint256 = synth_vault._lr_bps(synth_vault._params)
    for a: address in accounts:
        out.append(synth_vault._liquidatable_at(a, price, rate, lr_bps))
    return out
