"""``make bench`` measures every row of its table and computes its ratios from its figures.

Nothing here asserts a timing: machines are shared and noisy. The table itself is built
from raw values by one formatter, tested on made-up figures; the whole benchmark runs once
in its quickest mode on tiny data, so that it cannot rot.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench import TABLE, markdown
from tests.helpers import PROJECT_ROOT, TINY_TEST, TINY_TRAIN

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


@pytest.mark.pipeline
def test_quick_mode_measures_every_row(tiny_mnist: Path) -> None:
    sizes = ["--train-size", str(TINY_TRAIN), "--test-size", str(TINY_TEST), "--max-iter", "2"]
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--quick", "--data", str(tiny_mnist), *sizes],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = parse(result.stdout)
    assert sorted(rows) == sorted(what for what, *_ in TABLE.values())
    by_key = {key: rows[what] for key, (what, *_) in TABLE.items()}
    for key, (_, _, base, most) in TABLE.items():
        value, ratio, target, met = by_key[key]
        assert value >= 0 or key == "float32 points", key
        if base is not None and by_key[base][0] >= 1:
            # Value, base and ratio are each printed to 2 decimals: allow for that rounding.
            expected = value / by_key[base][0]
            rounding = 0.005 + expected * (0.005 / value + 0.005 / by_key[base][0])
            assert ratio == pytest.approx(expected, abs=rounding), key
        if most is not None:
            assert met == ("yes" if ratio is not None and ratio <= most else "NO"), key
    assert by_key["(b)"][0] > by_key["(c)"][0], "a cold repro does more than a no-op one"
