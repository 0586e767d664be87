"""The gas bench measures what it claims and flags what is above target."""

from synthequity import bench


def test_bench_measures_push_price_within_target(admin, reporter, project, chain):
    table, over = bench.run(bench.Actors(admin, reporter), project, chain)
    assert "oracle push_price" not in over
    rows = table.columns[0]._cells
    assert rows == [t.operation for t in bench.TARGETS]
    verdicts = table.columns[-1]._cells
    assert "within" in verdicts[0]
