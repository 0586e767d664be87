"""The deployment loader (`deployments.MarketContracts`): typed handles from a record, a clear
refusal when nothing is recorded, and nothing deployed on the way."""

import pytest

from synthequity import deployments
from synthequity.deployments import Kind, MarketContracts


def _record(core, stablecoin, oracle, vault, synth, perp):
    pool, market = perp
    rec = {"address": None, "block": 1}
    return {
        "network": "ethereum-local",
        "core": {
            "collateral": rec | {"address": stablecoin.address},
            "insurance": rec | {"address": core.insurance.address},
            "factory": rec | {"address": core.factory.address},
        },
        "markets": {
            "TSLA": {
                "oracle": rec | {"address": oracle.address, "block": 3},
                "vault": rec | {"address": vault.address, "block": 5},
                "synth": rec | {"address": synth.address},
                "perp": rec | {"address": market.address, "block": 7},
                "pool": rec | {"address": pool.address},
            }
        },
    }


def test_a_record_becomes_typed_handles(core, stablecoin, oracle, vault, synth, perp, chain):
    record = _record(core, stablecoin, oracle, vault, synth, perp)
    head = chain.blocks.head.number
    got = MarketContracts.from_record(record, "tsla")
    assert chain.blocks.head.number == head  # nothing deployed, nothing sent
    assert (got.network, got.symbol) == ("ethereum-local", "TSLA")
    pool, market = perp
    assert got.vault.address == vault.address and got.vault.SYNTH() == synth.address
    assert got.perp.address == market.address and got.perp.POOL() == pool.address
    assert got.oracle.description() == "TSLA / USD"
    assert got.collateral.decimals() == stablecoin.decimals()
    assert got.insurance.address == core.insurance.address
    assert got.need("factory").address == core.factory.address
    assert (got.block("oracle"), got.block("perp"), got.address("pool")) == (3, 7, pool.address)


def test_a_new_kind_is_one_line(core, stablecoin, oracle, vault, synth, perp, monkeypatch):
    record = _record(core, stablecoin, oracle, vault, synth, perp)
    record["markets"]["TSLA"]["perp_lens"] = {"address": perp[1].address, "block": 7}
    monkeypatch.setitem(deployments.MARKET_KINDS, "perp_lens", Kind("PerpMarket"))
    monkeypatch.setitem(deployments.CONTRACT_KINDS, "perp_lens", Kind("PerpMarket"))
    got = MarketContracts.from_record(record, "TSLA")
    assert got.perp_lens.address == perp[1].address == got.need("perp_lens").address
    assert got.contract("pool", "LiquidityPool").address == perp[0].address


def test_missing_records_say_to_deploy_first(
    tmp_path, core, stablecoin, oracle, vault, synth, perp
):
    with pytest.raises(LookupError, match="run `ape run deploy` first"):
        MarketContracts.load("ethereum-local", "TSLA", root=tmp_path)
    record = _record(core, stablecoin, oracle, vault, synth, perp)
    with pytest.raises(LookupError, match=r"no AAPL market .* run `ape run deploy` first"):
        MarketContracts.from_record(record, "AAPL")
    del record["markets"]["TSLA"]["vault"]
    halfway = MarketContracts.from_record(record, "TSLA")
    assert halfway.vault is None
    with pytest.raises(LookupError, match="no vault for TSLA"):
        halfway.need("vault")
