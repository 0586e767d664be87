"""SynthFactory (issue 4): perp markets and their pools from blueprints, registry, roles handed
over, parameters checked by the stateless codec; the blueprint fits EIP-170."""

import dataclasses

import ape
import pytest

from synthequity.contracts import at
from synthequity.model import perp as m

EIP170 = 24_576
DEFAULT_ADMIN = b"\x00" * 32


@pytest.fixture
def markets(core, stablecoin, oracle, admin):
    """Deploy a perp for `symbol` straight through the factory."""

    def _deploy(symbol, params=None, sender=admin, admin_=None):
        return core.factory.deploy_perp(
            symbol,
            f"synthequity {symbol} LP",
            "sqLP",
            stablecoin,
            core.insurance,
            oracle,
            120,
            (params or m.MarketParams()).as_tuple(),
            admin_ or admin,
            sender=sender,
        )

    return _deploy


def test_perp_and_pool_from_blueprints_registered_and_wired(
    project, core, markets, oracle, admin, risk_admin
):
    count = core.factory.perp_count()
    tx = markets("AAPL", admin_=risk_admin)
    market = at(project.PerpMarket, core.factory.perps("AAPL"))
    pool = at(project.LiquidityPool, core.factory.pool_of(market))
    assert tx.events.filter(core.factory.PerpDeployed) == [
        core.factory.PerpDeployed(
            symbol="AAPL", market=market, pool=pool, oracle=oracle, admin=risk_admin
        )
    ]
    assert core.factory.perp_count() == count + 1
    assert core.factory.perp_symbols(count) == "AAPL"
    assert core.factory.is_market(market)
    assert pool.market() == market and market.POOL() == pool
    assert market.PARAMS_CODEC() == core.factory.params_codec()
    assert market.params() == m.MarketParams().as_tuple()
    # the factory keeps no role on what it deployed (the pool is administered by `admin` from
    # its constructor; as the pool's deployer the factory only attached the market)
    assert pool.DEPLOYER() == core.factory.address
    for c in (market, pool):
        assert c.pending_admin() == "0x" + "00" * 20
        assert c.hasRole(DEFAULT_ADMIN, risk_admin)
        assert not c.hasRole(DEFAULT_ADMIN, core.factory)
        assert not c.hasRole(DEFAULT_ADMIN, admin)
    with ape.reverts("pool: market set"):
        pool.set_market(market, sender=risk_admin)


def test_deploy_perp_reverts(core, markets, outsider):
    markets("NVDA")
    with ape.reverts("factory: symbol taken"):
        markets("NVDA")
    with ape.reverts("factory: empty symbol"):
        markets("")
    with ape.reverts("access_control: account is missing role"):
        markets("MSFT", sender=outsider)
    with ape.reverts("roles: zero admin"):
        markets("MSFT", admin_="0x" + "00" * 20)
    bad = m.MarketParams(math=dataclasses.replace(m.PerpParams(), maintenance_margin_bps=2_000))
    with ape.reverts("perp: margin bounds"):  # the codec's reason reaches the caller
        markets("MSFT", params=bad)


def test_codec_round_trip_and_bounds(core, project):
    codec = at(project.PerpParamsCodec, core.factory.params_codec())
    params = m.MarketParams(
        math=dataclasses.replace(m.PerpParams(), skew_scale=123 * m.WAD, taker_fee_bps=999),
        order_max_age=3_600,
        order_keeper_fee=10 * m.WAD,
        max_oi_long_usd=2**127 - 1,
        max_oi_short_usd=0,
        max_skew_to_pool_bps=10_000,
    )
    assert codec.unpack(codec.pack(params.as_tuple())) == params.as_tuple()
    for bad, reason in [
        (dataclasses.replace(params, order_max_age=9), "perp: order age"),
        (dataclasses.replace(params, order_keeper_fee=10 * m.WAD + 10**12), "perp: keeper fee"),
        (dataclasses.replace(params, order_keeper_fee=1), "perp: keeper fee"),
        (dataclasses.replace(params, max_skew_to_pool_bps=0), "perp: pool cap"),
        (dataclasses.replace(params, max_oi_long_usd=2**127), "perp: overflow"),
        (
            dataclasses.replace(params, math=dataclasses.replace(params.math, skew_scale=0)),
            "perp: skew scale",
        ),
        (
            dataclasses.replace(params, math=dataclasses.replace(params.math, maker_fee_bps=1_000)),
            "perp: fee bounds",
        ),
    ]:
        with ape.reverts(reason):
            codec.pack(bad.as_tuple())


def test_blueprints_fit_eip170(core, chain):
    """ERC-5202: the blueprint's code is 0xFE71 00 + the initcode; it must itself fit EIP-170."""
    for name in ("perp_blueprint", "pool_blueprint", "vault_blueprint", "synth_blueprint"):
        code = chain.provider.get_code(getattr(core.factory, name)())
        assert code[:3] == bytes.fromhex("fe7100")
        assert 0 < len(code) <= EIP170, (name, len(code))
