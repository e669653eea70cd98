"""`noloop bench --quick`: every part runs and the sides agree. Timings are never asserted."""

import json

import pytest

from noloop import bench


def test_bench_quick_writes_every_row_and_the_sides_agree(tmp_path, capsys):
    """`noloop bench --quick --backends --json --plot`: each section's rows reach the JSON, the
    seed's twins agree, every solver but gd reaches the race's optimum, and the chart is a PNG."""
    from noloop.cli import main

    report_path, plot_path = tmp_path / "bench.json", tmp_path / "speedups.png"
    # every section but two that other tests already run exactly so: "categorical"
    # (test_categorical.py calls its section with quick=True and checks every row) and "cli"
    # (test_cli_dask.py runs `noloop bench --quick --only cli --json` and checks its row)
    sections = [name for name in bench.SECTIONS if name not in ("categorical", "cli")]
    code = main(["bench", "--quick", "--backends", "--only", ",".join(sections), "--json",
                 str(report_path), "--plot", str(plot_path)])
    completed = capsys.readouterr()
    assert code == 0, completed.err
    report = json.loads(report_path.read_text())
    assert set(report) >= {"machine", "seed_table", "solver_race", "loss_gradient_reads",
                           "peak_memory"}
    assert [row["name"] for row in report["seed_table"]] == ["dot", "matvec", "exp", "gradient"]
    assert all(row["agree"] for row in report["seed_table"])
    assert all("torch-cpu" in row["backend_seconds"] for row in report["seed_table"])
    contestants = [row["contestant"] for row in report["solver_race"]["rows"]]
    assert contestants[0] == "noloop lbfgs (default)"
    assert {"scikit-learn lbfgs", "scikit-learn newton-cholesky", "noloop newton-cholesky",
            "noloop gd (the seed's update)", "PyTorch full-batch LBFGS"} <= set(contestants)
    for row in report["solver_race"]["rows"]:
        if not row["contestant"].startswith("noloop gd"):
            assert row["reached"], row  # same optimum, whatever the speed
    paths = {(row["path"], row["dtype"]) for row in report["loss_gradient_reads"]}
    assert ("fused one-pass kernel", "float64") in paths
    assert ("plain vectorized (two passes)", "float32") in paths
    assert report["peak_memory"]["X_bytes"] > 0
    assert plot_path.read_bytes()[:4] == b"\x89PNG"
    assert "2. The solver race" in completed.out
    # the sections asked for, and only those, wrote their rows
    assert set(report) - {"noloop_bench", "date", "quick", "machine"} == {
        "seed_table", "solver_race", "loss_gradient_reads", "peak_memory", "dask",
        "inference", "l1_path", "cv", "sparse"}


def test_race_rows_report_ratios_to_the_default():
    X, y = bench.race_problem(quick=True)
    rows = bench.solver_race(X[:2000], y[:2000], quick=True)
    default = rows[0]
    assert default.contestant == "noloop lbfgs (default)"
    assert default.seconds > 0
    for row in rows:
        assert row.ratio_to_default == pytest.approx(row.seconds / default.seconds), row


def test_ratios_divide_each_time_by_the_first_rows():
    from noloop.bench.race import ratios_to_first

    rows = [bench.RaceRow(name, seconds, 0.0, True, 1, 1e-4)
            for name, seconds in (("default", 2.0), ("faster", 0.5), ("slower", 6.0))]
    assert [row.ratio_to_default for row in ratios_to_first(rows)] == [1.0, 0.25, 3.0]


def test_one_formatter_aligns_columns_and_writes_numbers():
    from noloop.bench._format import Column, format_seconds, format_table

    columns = [Column("name", lambda row: row[0]),
               Column("x", lambda row: row[1], "{:.1f}×", ">", min_width=6),
               Column("time", lambda row: row[2], format_seconds)]
    text = format_table(columns, [("a", 1.5, 2e-3), ("longer", 12.3, 4.5e-7)], rule=True)
    assert text.splitlines() == [
        "name         x  time",
        "------  ------  ------",
        "a         1.5×  2 ms",
        "longer   12.3×  450 ns",
    ]


def test_bench_runs_only_the_sections_asked_for_and_names_unknown_ones(capsys):
    """--only runs the named section and none other. The cheapest section is asked for (the
    coefficient table, under a second); every section's rows are checked in the tests above."""
    from noloop.cli import main

    assert main(["bench", "--quick", "--only", "inference"]) == 0
    out = capsys.readouterr().out
    assert "5. The coefficient table" in out
    assert "1. The seed" not in out and "2. The solver race" not in out
    assert "3. One loss-and-gradient evaluation" not in out
    assert main(["bench", "--only", "reads,nonsense"]) == 2
    assert "unknown section nonsense" in capsys.readouterr().err


def test_one_read_passes_over_every_byte_of_every_array():
    """The floor of a "read" sums each array's bytes as 8-byte words plus a tail of bytes:
    every byte of every array, whatever its dtype, length or memory order."""
    import numpy as np

    from noloop.bench._timing import _pieces, _read_once, one_read_seconds

    def expected(array):
        raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        whole = raw.size // 8 * 8
        words = raw[:whole].view(np.uint64).astype(object).sum() if whole else 0
        return int(words) + int(raw[whole:].astype(np.int64).sum())

    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 255, 13, dtype=np.uint8), rng.standard_normal((5, 3)),
              np.asfortranarray(rng.integers(-9, 9, (4, 7)).astype(np.int32)))
    assert _read_once(_pieces(arrays)) % 2**64 == sum(expected(a) for a in arrays) % 2**64
    assert _read_once(_pieces(arrays[:1])) == expected(arrays[0])
    with pytest.raises(TypeError, match="one read streams numbers; got an array of dtype object"):
        one_read_seconds(np.array(["text"], dtype=object))
