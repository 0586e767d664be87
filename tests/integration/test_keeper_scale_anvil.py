"""The scale bench's path on a small book (the 10,000-account run is `make bench-keepers`):
positions opened by impersonated accounts in JSON-RPC batches, a fall, a block every 2 s, and
the keeper finding and liquidating exactly the positions the model says are liquidatable —
several per block, not one."""

from synthequity.dev.bench_keepers import run_scale


def test_keeper_finds_exactly_what_the_model_finds_and_batches_its_sends(
    project, chain, admin, reporter, lp, keeper
):
    actors = {"admin": admin, "reporter": reporter, "lp": lp, "keeper": keeper}
    result = run_scale(project, chain, actors, n=120, seed=7, fall=0.15, block_time=2)
    assert result.tracked == 120
    assert result.liquidatable_by_model > 5  # the fall made some positions liquidatable...
    assert result.flagged_by_keeper == result.liquidatable_by_model  # ...the keeper saw them all
    assert result.liquidations == result.liquidatable_by_model and result.missed == []
    assert result.first_block_after_price == 1
    # sent back to back: they share blocks (one per block would need as many blocks as jobs)
    assert result.last_block_after_price < result.liquidations
