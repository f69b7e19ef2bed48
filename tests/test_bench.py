"""``make bench`` measures every row of its table and computes its ratios from its figures.

Nothing here asserts a timing: machines are shared and noisy. The table itself is built
from raw values by one formatter, tested on made-up figures; the whole benchmark runs once
in its quickest mode on tiny data, so that it cannot rot.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import measure
from benchmarks.bench import GRID, TABLE, computed_points, floors, grid_points, markdown
from tests.helpers import PROJECT_ROOT, STAGES, TINY_TEST, TINY_TRAIN

ROW = re.compile(r"^\| (.+?) \| ([-\d.]+) \S+ \| (?:([\d.]+) × (.+?))? \| (.*?) \| (.*?) \|$")


def parse(table: str) -> dict[str, tuple[float, float | None, str, str]]:
    """``{measure: (value, ratio, target, met)}`` from the printed table."""
    rows = {}
    for line in table.splitlines()[2:]:
        match = ROW.match(line)
        assert match, f"not a row of the table: {line}"
        what, value, ratio, _, target, met = match.groups()
        rows[what] = (float(value), float(ratio) if ratio else None, target, met)
    return rows


def test_ratios_and_verdicts_come_from_the_figures() -> None:
    rows = parse(markdown({"(a)": 10.0, "(b)": 14.0, "(d)": 14.0, "dvc status": 2.0, "(c)": 3.0}))
    assert rows[TABLE["(b)"][0]] == (14.0, 1.4, "≤ 1.5", "yes")
    assert rows[TABLE["(d)"][0]] == (14.0, 1.4, "≤ 1.3", "NO")
    assert rows[TABLE["(c)"][0]] == (3.0, 1.5, "≤ 1.3", "NO")
    assert rows[TABLE["(a)"][0]] == (10.0, None, "", "")
    assert TABLE["(g)"][0] not in rows, "a measure not taken is not shown"
    floor = parse(markdown({"(a)": 10.0, "(b) floor": 16.0, "(d) floor": 12.0}))
    assert floor[TABLE["(b) floor"][0]] == (16.0, 1.6, "≤ 1.5", "out of reach")
    assert floor[TABLE["(d) floor"][0]] == (12.0, 1.2, "≤ 1.3", "reachable")


def test_floors_add_the_least_times_of_what_no_pipeline_can_leave_out() -> None:
    figures = {"(a) pinned least": 10.0, "(a) pinned pair least": 13.0, "gunzip": 0.5}
    figures |= {"no-op exp run least": 2.0, "no-op repro least": 3.0, "sklearn": 1.5}
    figures |= {"scoring least": 0.25, "split import": 1.25}
    # The medians, printed beside them, are not what the floors add up.
    figures |= {"(a) pinned": 99.0, "(a) pinned pair": 99.0, "no-op exp run": 99.0}
    figures |= {"no-op repro": 99.0, "scoring": 99.0}
    floor = floors(figures, max_iter=10, computed=5)
    extras = 1.5 + 9 * 0.25  # evaluate's import; the script itself scores once
    assert floor["(d) floor"] == pytest.approx(10.0 - 0.5 + 2.0 + extras)
    assert floor["(b) floor"] == pytest.approx(10.0 + 3.0 + 1.25 + extras), "preprocess's import"
    pair = 13.0 - 0.5 + 2.0 + extras
    assert floor["(e) floor"] == pytest.approx(2 * pair + floor["(d) floor"]), "2 pairs, 1 alone"
    even = floors(figures, max_iter=10, computed=4)["(e) floor"]
    assert even == pytest.approx(2 * pair)
    assert floors(figures, max_iter=10, computed=0)["(e) floor"] == 0
    assert "(e) floor" not in floors(figures, max_iter=10, computed=None), "no grid swept"


@pytest.mark.parametrize(("repeats", "n_points"), [(5, 8), (1, 2)])
def test_the_sweep_is_timed_between_halves_of_its_yardsticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repeats: int, n_points: int
) -> None:
    """The machine's speed drifts over minutes: each yardstick runs half before and half
    after what it is compared with, each experiment from the committed workspace, and the
    ratios' bases are the runs taken there."""
    project = tmp_path / "project"
    timeline: list[str] = []
    taken: dict[str, list[float]] = {"lone": [], "plain": []}

    def fake_run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
        text = " ".join(map(str, command))
        kind = (
            "grid" if "--jobs" in text
            else "worker" if "mnist_mlp.tools.sweep" in text
            else "lone" if "exp run" in text
            else "plain" if "reference.py" in text
            else "reset" if "dvc checkout" in text
            else "other"
        )  # fmt: skip
        assert cwd == (tmp_path if kind == "plain" else project), (kind, cwd)
        timeline.append(kind)
        seconds = {"worker": 30.0 * repeats, "grid": 50.0}.get(kind, 0.0)
        if kind in taken:  # a different time each run: the bases are their median and sum
            seconds = 1.0 + len(taken[kind]) ** 2
            taken[kind].append(seconds)
        return seconds, 0.0

    monkeypatch.setattr(measure, "run", fake_run)
    grid = GRID if n_points == 8 else ["-S", "train.learning_rate_init=0.05,0.1"]
    script = measure.script_command(tmp_path, [])
    values = measure.measure_sweep(project, {}, repeats, grid, script, n_points)
    timed = [kind for kind in timeline if kind != "other"]
    lone_before = repeats // 2
    expected = ["reset", "lone"] * lone_before + ["reset", "worker"]
    expected += ["reset", "lone"] * (repeats - lone_before) + ["reset"]
    expected += ["plain"] * (n_points // 2) + ["grid", "reset"]
    expected += ["plain"] * (n_points - n_points // 2)
    assert timed == expected
    assert values == {
        "(d) beside (e)": statistics.median(taken["lone"]),
        "(e) worker": 30.0,
        "(e)": 50.0,
        "(a) per point": sum(taken["plain"]),
    }
    assert len(taken["plain"]) == n_points
    assert TABLE["(e) worker"][2] == "(d) beside (e)" and TABLE["(e)"][2] == "(a) per point"


def test_the_grid_point_of_the_committed_params_costs_nothing() -> None:
    params = {"train": {"learning_rate_init": 0.1, "alpha": 0.0001, "hidden_layer_sizes": [50]}}
    grid = ["-S", "train.learning_rate_init=0.05,0.1", "-S", "train.alpha=1e-4,0.001"]
    assert len(grid_points(grid)) == 4
    assert computed_points(grid_points(grid), params) == 3
    lists = ["-S", "train.hidden_layer_sizes=[50],[4,3]", "-S", "train.learning_rate_init=0.1"]
    assert computed_points(grid_points(lists), params) == 1
    assert computed_points(grid_points(["-S", "train.alpha=0.01,0.1"]), params) == 2


# The smoke test leaves out the sweep (e) and the stages' memory (f): the slowest groups,
# each run by its own tests (test_sweep.py, the memory checks in test_hostile_input.py).
SMOKE_GROUPS = ("script", "dvc", "fits", "floor")
NOT_SMOKED = {
    "(d) beside (e)",
    "(e) worker",
    "(e)",
    "(e) floor",
    "(a) per point",
    "(a) pinned pair",
    "train float32",
    *STAGES,
}


@pytest.mark.pipeline
def test_quick_mode_measures_its_rows_and_adds_up_the_floors(tiny_mnist: Path) -> None:
    sizes = ["--train-size", str(TINY_TRAIN), "--test-size", str(TINY_TEST), "--max-iter", "2"]
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--quick", "--data", str(tiny_mnist), *sizes]
        + ["--only", *SMOKE_GROUPS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = parse(result.stdout)
    measured = {key: rows[what] for key, (what, *_) in TABLE.items() if what in rows}
    assert sorted(measured) == sorted(set(TABLE) - NOT_SMOKED)
    for key, (value, ratio, _, met) in measured.items():
        _, _, base, most = TABLE[key]
        assert value >= 0 or key == "float32 points", key
        if base is not None and measured[base][0] >= 1:
            # Value, base and ratio are each printed to 2 decimals: allow for that rounding.
            expected = value / measured[base][0]
            rounding = 0.005 + expected * (0.005 / value + 0.005 / measured[base][0])
            assert ratio == pytest.approx(expected, abs=rounding), key
        if most is not None and ratio is not None and abs(ratio - most) > 0.005:
            within = ratio <= most  # beyond the rounding
            if key.endswith("floor"):
                assert met == ("reachable" if within else "out of reach"), key
            else:
                assert met == ("yes" if within else "NO"), key
    assert measured["(b)"][0] > measured["(c)"][0], "a cold repro does more than a no-op one"
    # The floors add up least times; with --quick's one repeat each is the printed median.
    figure = {key: measured[key][0] for key in measured}
    extras = figure["sklearn"] + figure["scoring"]  # --max-iter 2: one scoring more
    experiment = figure["(a) pinned"] - figure["gunzip"] + figure["no-op exp run"] + extras
    assert figure["(d) floor"] == pytest.approx(experiment, abs=0.03)
    cold = figure["(a) pinned"] + figure["no-op repro"] + figure["split import"] + extras
    assert figure["(b) floor"] == pytest.approx(cold, abs=0.03)
