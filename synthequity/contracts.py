"""Contract instances by address, typed as we say.

Ape's `ContractContainer.at(address)` prefers the type it has cached for `address` over the one
asked for. On a local chain that is wrong after a revert: a test (or the demo) that reverted
the chain reuses addresses, and a factory-created contract at a reused address would come back
typed as whatever lived there before (a `SynthVault` answering with a `PerpMarket`'s ABI).
`at` replaces the cached type instead."""

from __future__ import annotations

from typing import Any

from synthequity.model.oracle import quote_to_base_wad

# A deployable whose cold paths run in an extension, reached through its `__default__` by
# delegatecall (docs/architecture.md): its interface at its address is its own ABI plus the
# extension's.
EXTENSIONS = {"PerpMarket": "PerpMarketExt", "SynthVault": "SynthVaultExt"}
# Called once, by the factory, through the deployable (not part of the users' interface).
_NOT_EXPORTED = {"initialize"}


def _adds(kind: str, name: str | None, have: set[tuple[str, str | None]]) -> bool:
    """Whether an extension's ABI entry joins the deployable's interface."""
    return (
        kind in ("function", "event", "error")
        and (kind, name) not in have
        and name not in _NOT_EXPORTED
    )


def merge_abis(own: list[dict[str, Any]], ext: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`own` plus every function, event and error of `ext` that `own` lacks (JSON ABIs)."""
    have = {(e["type"], e.get("name")) for e in own}
    return own + [e for e in ext if _adds(e["type"], e.get("name"), have)]


# (deployable, its bytecode, the extension's bytecode) -> the merged type, built once
_MERGED: dict[tuple[str, str, str], Any] = {}


def full_contract_type(container: Any) -> Any:
    """The contract type users see at a deployable's address: for a deployable with an
    extension, its ABI merged with the extension's (`EXTENSIONS`)."""
    from ape import project

    ct = container.contract_type
    ext_name = EXTENSIONS.get(ct.name or "")
    if ext_name is None:
        return ct
    ext = getattr(project, ext_name).contract_type
    key = (ct.name, _code(ct), _code(ext))
    if key not in _MERGED:
        have = {(a.type, getattr(a, "name", None)) for a in ct.abi}
        extra = [a for a in ext.abi if _adds(a.type, getattr(a, "name", None), have)]
        _MERGED[key] = ct.model_copy(update={"abi": [*ct.abi, *extra]})
    return _MERGED[key]


def _code(ct: Any) -> str:
    code = getattr(ct, "runtime_bytecode", None)
    return str(getattr(code, "bytecode", "") or "")


def at(container: Any, address: Any) -> Any:
    """`container`'s contract at `address` (an Ape `ContractContainer`), with the whole
    interface callable there (`full_contract_type`)."""
    from ape import chain

    return chain.contracts.instance_at(
        address,
        contract_type=full_contract_type(container),
        replace=True,
        fetch_from_explorer=False,
    )


def base_price_wad(oracle: Any) -> int:
    """One *base* share's price in 1e18 USD: the feed's quote x its shares multiplier. Every
    position, debt and order is kept in base shares, so a split (docs/spec.md §6) changes the
    quote and the multiplier, never this, and a dividend raises the multiplier by its
    total-return factor (docs/design/corporate-actions.md)."""
    _, answer, _, _, _ = oracle.latestRoundData()
    return quote_to_base_wad(
        int(answer), int(oracle.decimals()), int(oracle.shares_multiplier_wad())
    )


def unwrap(row: Any) -> Any:
    """A decoded answer without the one-element tuples around it (Ape and eth_abi wrap a
    single output: `(struct,)`, `(array,)`)."""
    while len(row) == 1 and isinstance(row[0], (tuple, list)):
        row = row[0]
    return row


def flat(row: Any) -> tuple[int, ...]:
    """A decoded struct return as plain ints."""
    return tuple(int(x) for x in unwrap(row))


def read_many(calls: list[tuple[Any, str, tuple[Any, ...]]], chunk: int = 250) -> list[Any]:
    """Many views (contract, function, arguments) as JSON-RPC batches of `eth_call`; each
    answer decoded to its output tuple (a struct output: a nested tuple). A keeper reading
    1,000 positions one call at a time would lose blocks to it."""
    from ape import chain
    from eth_abi import decode

    web3, out = chain.provider.web3, []
    for i in range(0, len(calls), chunk):
        part = calls[i : i + chunk]
        with web3.batch_requests() as batch:
            for contract, fn, args in part:
                data = getattr(contract, fn).encode_input(*args)
                batch.add(web3.eth.call({"to": contract.address, "data": data}))
            raw = batch.execute()
        for (contract, fn, _), r in zip(part, raw, strict=True):
            types = [o.canonical_type for o in getattr(contract, fn).abis[0].outputs]
            out.append(decode(types, bytes(r)))
    return out
