"""Headless Chromium, with networking disabled, actually draws the report and the
`dvc plots show` charts from disk: screenshots are not blank, and are blank without
the inlined libraries or images (so a blank page cannot pass)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import (
    CHROMIUM_NAMES,
    CHROMIUM_OFFLINE_FLAGS,
    DvcProject,
    find_chromium,
    skip_unless_ci,
)

pytestmark = [pytest.mark.browser, pytest.mark.pipeline]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        skip_unless_ci(
            f"no Chromium found on PATH (looked for {', '.join(CHROMIUM_NAMES)}); "
            "`apt-get install chromium` to run the browser tests"
        )
    return path


def screenshot(chromium: str, page: Path, out: Path, size: str = "1200,900") -> np.ndarray:
    """Load ``page`` from disk offline, give scripts 10 s of virtual time, screenshot it."""
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            *CHROMIUM_OFFLINE_FLAGS,
            f"--user-data-dir={out.parent / 'chromium-profile'}",
            f"--window-size={size}",
            "--virtual-time-budget=10000",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return np.asarray(Image.open(out).convert("L"))


def drawn_fraction(pixels: np.ndarray) -> float:
    """Fraction of pixels that are not (near) white."""
    return float((pixels < 200).mean())


def strip(pattern: str, page: Path, out: Path) -> Path:
    out.write_text(re.sub(pattern, "", page.read_text(), flags=re.DOTALL))
    return out


def test_dvc_plots_show_draws_offline(
    chromium: str, reproduced: DvcProject, tmp_path: Path
) -> None:
    reproduced.dvc("plots", "show", "reports/loss.csv", "-o", str(tmp_path / "plots"))
    page = tmp_path / "plots/index.html"
    assert not re.search(r"<script[^>]+src=", page.read_text())
    # The chart (axes, grid, line, legend) fills the top-left 500x400 pixels.
    drawn = drawn_fraction(screenshot(chromium, page, tmp_path / "plots.png")[:400, :500])
    without_scripts = strip(r"<script>.*?</script>", page, tmp_path / "no-scripts.html")
    blank = drawn_fraction(
        screenshot(chromium, without_scripts, tmp_path / "blank.png")[:400, :500]
    )
    assert drawn > 0.02, f"chart looks blank: {drawn:.4f} of its pixels drawn"
    assert blank < drawn / 10


def test_report_renders_offline_in_a_column_to_read(
    chromium: str, reproduced: DvcProject, tmp_path: Path
) -> None:
    reproduced.run(sys.executable, "-m", "mnist_mlp.tools.report", "--baseline", "HEAD")
    page = reproduced.root / "reports/report.html"
    pixels = screenshot(chromium, page, tmp_path / "report.png", size="1600,2400")
    without_images = strip(r"<img[^>]*>", page, tmp_path / "no-images.html")
    text_only = screenshot(chromium, without_images, tmp_path / "text.png", size="1600,2400")
    assert drawn_fraction(pixels) > 0.02
    assert drawn_fraction(text_only) < drawn_fraction(pixels) / 3
    # In a wide window the page keeps to a column in the middle, not the whole width.
    columns = np.flatnonzero((pixels < 245).any(axis=0))
    left, right = int(columns.min()), int(columns.max())
    assert left > 200 and right < 1400 and abs((left + right) / 2 - 800) < 50, (left, right)
