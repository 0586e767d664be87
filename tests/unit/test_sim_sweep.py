"""`python -m synthequity.sim.sweep` on a Dask LocalCluster of 2 worker processes: a 2-run
sweep (the defaults and a parameter set) of in-process replays, gathered into one table
(CSV and Parquet agree), each run's reconciliation balanced to the wei; and the parameter
sets reach the deployed contracts."""

from __future__ import annotations

import pandas as pd
import pytest

from synthequity.constants import DEFAULT_INSURANCE_SEED_USD
from synthequity.sim import sweep


def test_parameter_sets_reach_deploy_protocol():
    kw = sweep.protocol_kwargs(
        {"mcr_bps": 16_000, "maintenance_margin_bps": 1_500, "max_jump_bps": 3_000}
    )
    assert kw["vault_params"].mcr_bps == 16_000
    assert kw["vault_params"].liquidation_ratio_bps == 12_500  # the rest: defaults
    assert kw["perp_params"].math.maintenance_margin_bps == 1_500
    assert kw["max_jump_bps"] == 3_000
    with pytest.raises(ValueError, match="unknown parameters"):
        sweep.protocol_kwargs({"mcr": 1})
    mixes = {"m": {"agents": 9, "exposed": 1, "whales": 1, "fleeing": 2}}
    runs = sweep.specs([1, 2], [("2022-09-01", "2022-09-09")], {"default": {}}, mixes)
    assert [(r.seed, r.agents, r.exposed, r.styles) for r in runs] == [
        (1, 9, 1, "whales=1,fleeing=2"),
        (2, 9, 1, "whales=1,fleeing=2"),
    ]
    with pytest.raises(ValueError, match="agent mix 'sharks=1'"):
        sweep.specs([1], [("2022-09-01", "2022-09-09")], {"default": {}}, {"m": {"sharks": 1}})


def test_a_two_run_sweep_on_a_dask_local_cluster(tmp_path):
    from distributed import LocalCluster

    runs = sweep.specs(
        [3],
        [("2022-09-06", "2022-09-08")],
        {"default": {}, "tight": {"maintenance_margin_bps": 1_500, "insurance_usd": 2_000}},
        {"small": {"agents": 6}},
    )
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        results = sweep.execute(runs, scheduler=cluster.scheduler_address)
    path = sweep.write(results, tmp_path, charts=False)
    table = pd.read_csv(tmp_path / "runs.csv")
    assert list(table["params_name"]) == ["default", "tight"]
    assert table["balanced"].all() and (table["ticks"] == 16).all()
    assert table["orders_filled"].min() > 0
    assert table["insurance_end_usd"][1] >= 2_000  # the parameter set seeded the fund
    assert table["insurance_end_usd"][0] >= DEFAULT_INSURANCE_SEED_USD  # the deployment's seed
    # docs/spec.md §9: no print's keepers left a liquidatable position behind
    assert (table["left_liquidatable_perp"] == 0).all()
    assert (table["left_liquidatable_vault"] == 0).all()
    assert (table["keeper_buys_short"] == 0).all() and (table["keeper_buys"] >= 0).all()
    assert (table["vault_keeper_net_usd"] >= 0).all()  # it never spends more than it is paid
    parquet = pd.read_parquet(tmp_path / "runs.parquet")
    assert parquet["run"].tolist() == table["run"].tolist()
    assert parquet["bad_debt_usd"].tolist() == table["bad_debt_usd"].tolist()
    series = pd.read_parquet(tmp_path / "series.parquet")
    assert set(series["run"]) == set(table["run"]) and len(series) >= 2 * 3
    assert "| tight |" in path.read_text()


def test_the_vault_keepers_net_counts_what_it_was_paid_less_what_it_spent():
    """`vault_keeper_net`: the liquidations' payments in (direct and through the pool), a
    minted inventory's collateral and the sTSLA it bought (the fund's, agents') out; the
    perp keeper's fees and the faucet are not the vault keeper's."""
    flows = {
        "vault -> keeper": 1_000,
        "stability pool -> keeper": 50,
        "keeper -> borrowers": 700,
        "keeper -> savers": 100,
        "keeper -> vault": 30,
        "keeper -> insurance fund": 7,
        "market -> keeper": 999,
        "faucet -> keeper": 10**9,
        "borrowers -> vault": 5,
    }
    assert sweep.vault_keeper_net(flows) == 1_000 + 50 - 700 - 100 - 30 - 7
    assert sweep.vault_keeper_net({}) == 0
