"""The admin hand-over's decisions (synthequity.admin), over plain data."""

from synthequity.admin import ZERO, Administered, AdminState, administered, to_accept, to_propose

OLD, NEW = "0x" + "11" * 20, "0x" + "22" * 20


def state(label, is_admin, pending=ZERO):
    return AdminState(Administered(label, "X", "0x" + "33" * 20), is_admin, pending, OLD)


def test_every_contract_with_roles_is_listed_shared_first():
    record = {
        "core": {
            "collateral": {"address": "c"},
            "insurance": {"address": "i"},
            "factory": {"address": "f"},
            "codec": {"address": "k"},
        },
        "markets": {
            "TSLA": {s: {"address": s} for s in ("oracle", "vault", "synth", "perp", "pool")},
            "AAPL": {"oracle": {"address": "o2"}},  # a market deployed halfway
        },
    }
    got = [(t.label, t.contract) for t in administered(record)]
    assert got == [
        ("insurance", "InsuranceFund"),
        ("factory", "SynthFactory"),
        ("AAPL oracle", "EquityOracle"),
        ("TSLA oracle", "EquityOracle"),
        ("TSLA vault", "SynthVault"),
        ("TSLA perp", "PerpMarket"),
        ("TSLA pool", "LiquidityPool"),
    ]


def test_propose_only_what_is_missing_and_accept_only_what_names_you():
    states = [
        state("a", True),
        state("b", True, NEW.upper().replace("0X", "0x")),  # already proposed (any case)
        state("c", False),
        state("d", True, "0x" + "44" * 20),  # another proposal: replaced
    ]
    assert [s.target.label for s in to_propose(states, NEW)] == ["a", "d"]
    assert [s.target.label for s in to_accept(states, NEW)] == ["b"]
    assert to_accept(states, OLD) == []
