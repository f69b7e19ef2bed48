"""``make bench``: each ratio comes from its two sides' runs, taken in turns; the quick
mode measures every row. No timing is asserted: the figures go to docs/performance.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench import STAGES, Bench, Row, alternate, measure, tiny_mnist


def test_the_sides_take_turns_in_each_round() -> None:
    order: list[str] = []

    def side(name: str, value: float) -> float:
        order.append(name)
        return value + len(order)

    taken = alternate(3, lambda: side("a", 0), lambda: side("b", 100))
    assert order == ["a", "b"] * 3
    assert taken == [(1, 3, 5), (102, 104, 106)]


def test_a_ratio_is_the_quotient_of_the_medians() -> None:
    row = Row("dvc exp run", "s", (9.0, 3.0, 4.0), "the plain script", (2.0, 1.0, 8.0))
    assert row.ratio == 4.0 / 2.0
    assert Row("dvc repro, nothing changed", "s", (1.0,)).ratio is None


def test_a_failing_command_ends_the_bench_with_its_error_line(tmp_path: Path) -> None:
    bench = Bench(tmp_path, tmp_path, repeats=1, quick=True)
    bench.project.mkdir()
    script = "echo 'stage output'; echo 'ERROR __main__: the cause'; echo 'make: Error 1'; exit 2"
    with pytest.raises(SystemExit, match=r"failed: ERROR __main__: the cause$"):
        bench.run(["sh", "-c", script])


@pytest.mark.pipeline
def test_quick_mode_measures_every_row_but_the_set_up(tmp_path: Path) -> None:
    rows = measure(tiny_mnist(tmp_path), tmp_path, repeats=1, quick=True)
    assert [row.what for row in rows] == [
        "cold `make repro`, fresh clone",
        "`dvc repro`, nothing changed",
        "`dvc exp run -S train.learning_rate_init=0.2`",
        "sweep, 1-point grid",
        *(f"peak memory, {stage}" for stage in STAGES),
        "train stage, float32 features",
    ]
    for row in rows:
        assert len(row.runs) == 1 and row.runs[0] > 0, row
        if row.what != "`dvc repro`, nothing changed":
            assert len(row.against_runs) == 1 and row.against_runs[0] > 0, row
            assert row.ratio == row.runs[0] / row.against_runs[0], row
