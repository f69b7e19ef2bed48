"""The review report: content, plain values and signed changes, the baseline checked before
anything runs, a first run without baseline metrics, and a real two-commit repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mnist_mlp.tools.report import (
    build_report,
    confusion_figure,
    format_change,
    format_value,
    render_html,
    render_markdown,
)
from tests.helpers import PROJECT_ROOT, DvcProject, assert_one_line_error, fake_run

CONFUSION = pd.DataFrame({"actual": [0, 1, 1, 2], "predicted": [0, 1, 2, 2]})
METRICS_DIFF = {
    "reports/metrics.json": {
        "test_score": {"old": 0.97, "new": 0.9716, "diff": 0.0016},
        "train_score": {"old": 0.9868, "new": 0.988316666, "diff": 0.00151666},
        "test_f1": {"old": 0.97, "new": 0.9697, "diff": -0.0003},
    }
}
# As DVC gives them: a list param's values are strings.
PARAMS_DIFF = {
    "params.yaml": {
        "train.learning_rate_init": {"old": 0.1, "new": 0.2},
        "train.hidden_layer_sizes": {"old": "[50]", "new": "[100]"},
    }
}
EXTERNAL_REFERENCE = re.compile(
    r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*['\"]?(https?:)?//", re.IGNORECASE
)


def report(params_diff=PARAMS_DIFF, metrics_diff=METRICS_DIFF, baseline_run=True):
    baseline = fake_run("main", [50], 0.1) if baseline_run else None
    return build_report(
        "main", params_diff, metrics_diff, baseline, fake_run("workspace", [50], 0.2), CONFUSION
    )


def test_values_have_six_significant_digits_and_changes_a_sign() -> None:
    assert format_value(0.988316666) == "0.988317"
    assert format_value([100, 50]) == "[100, 50]"
    assert format_value("") == format_value(" \n") == '""'
    assert format_value("two\nlines") == "two lines"
    assert len(format_value("x" * 10_000)) == 120
    assert format_change(0.97, 0.9716, 0.0016) == "+0.0016"
    assert format_change(0.97, 0.9697, -0.0003) == "-0.0003"
    assert format_change(0.5, 0.5, 0.0) == format_change(0.5, 0.5, -0.0) == "+0"
    assert format_change(None, 0.97, None) == "new"
    assert format_change(0.97, None, None) == "removed"


def test_markdown_shows_plain_values_and_signed_changes() -> None:
    text = render_markdown(report(), "report_files")
    assert "| metric | `main` | workspace | change |" in text
    assert "| `test_score` | `0.97` | `0.9716` | +0.0016 |" in text
    assert "| `train_score` | `0.9868` | `0.988317` | +0.00151666 |" in text
    assert "| `test_f1` | `0.97` | `0.9697` | -0.0003 |" in text
    assert "| `train.hidden_layer_sizes` | `[50]` | `[100]` |" in text
    assert "| `train.learning_rate_init` | `0.1` | `0.2` |" in text
    assert "\\[" not in text
    assert "![Weights and curves](report_files/weights_and_curves.png)" in text
    assert "![Confusion matrix](report_files/confusion_matrix.png)" in text


def test_both_formats_point_to_the_explore_page_beside_them() -> None:
    """The HTML links to it; the Markdown names it without a link, which CML would publish."""
    made = report()
    line = "Every experiment on one page: `make explore` writes `explore.html` "
    assert line + "beside this report." in render_markdown(made, "report_files").splitlines()
    page = render_html(made)
    assert "<code>make explore</code> writes <a href='explore.html'>explore.html</a>" in page


def test_a_metric_only_one_side_has_is_new_or_removed() -> None:
    diff = {
        "reports/metrics.json": {
            "test_score": {"old": 0.97, "new": 0.98, "diff": 0.01},
            "test_f1": {"new": 0.9},
            "old_metric": {"old": 0.5},
        }
    }
    text = render_markdown(report(metrics_diff=diff), "files")
    assert "| `test_f1` | – | `0.9` | new |" in text
    assert "| `old_metric` | `0.5` | – | removed |" in text


def test_first_run_without_baseline_metrics_says_so() -> None:
    first = {"reports/metrics.json": {"test_score": {"new": 0.97}}}
    made = report(params_diff={}, metrics_diff=first, baseline_run=False)
    text = render_markdown(made, "files")
    assert "> **Note:** The baseline `main` has no metrics yet (first run)" in text
    assert "| `test_score` | – | `0.97` | new |" in text
    assert "No param differs from the baseline." in text
    assert "The baseline <code>main</code> has no metrics yet" in render_html(made)


def test_html_escapes_strings_from_params() -> None:
    hostile = {
        "params.yaml": {"visualize.cmap": {"old": "gray", "new": "<script>alert(1)</script>"}}
    }
    page = render_html(report(params_diff=hostile))
    assert "<script>" not in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page


def test_html_is_self_contained_with_captioned_figures() -> None:
    page = render_html(report())
    assert not EXTERNAL_REFERENCE.search(page)
    figures = re.findall(r"<figure><img [^>]*src='data:image/png;base64,.*?</figure>", page)
    assert len(figures) == 2
    assert all("<figcaption>" in figure for figure in figures)


def git_repository(root: Path) -> Path:
    """A git repository with one commit on ``main`` and the project's Makefile."""
    root.mkdir()
    for name in ("Makefile", "params.yaml", "requirements.lock", "requirements-uv.lock"):
        shutil.copy2(PROJECT_ROOT / name, root / name)
    (root / "pyproject.toml").touch()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "one"]):
        subprocess.run(["git", *command], cwd=root, check=True, env=os.environ | env)
    return root


@pytest.mark.parametrize("baseline", ["-h", "--all", "", "no-such-branch", "HEAD^{tree}"])
def test_a_baseline_git_does_not_know_is_one_line(tmp_path: Path, baseline: str) -> None:
    root = git_repository(tmp_path / "repo")
    result = subprocess.run(
        [sys.executable, "-m", "mnist_mlp.tools.report", f"--baseline={baseline}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert_one_line_error(
        result, f"--baseline {baseline!r}: expected a branch, tag or commit of this git repository"
    )
    assert not (root / "reports").exists()


def test_make_report_passes_the_baseline_as_one_word_never_as_shell_code(
    tmp_path: Path,
) -> None:
    root = git_repository(tmp_path / "repo")
    # The Makefile runs .venv/bin's python: this interpreter, with the project installed.
    (root / ".venv/bin").mkdir(parents=True)
    (root / ".venv/bin/python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (root / ".venv/bin/python").chmod(0o755)
    # Built after the files it is built from: make takes .venv/ as up to date.
    for name in ("requirements.lock", "requirements-uv.lock", "pyproject.toml"):
        os.utime(root / name, (10**9, 10**9))
    (root / ".venv/.installed").touch()
    result = subprocess.run(
        ["make", "--no-print-directory", "report", "BASELINE=main;touch injected"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert not (root / "injected").exists()
    assert "--baseline 'main;touch injected': expected a branch" in result.stderr


@pytest.mark.pipeline
def test_report_on_a_two_commit_repository(reproduced: DvcProject) -> None:
    tiny_project = reproduced
    tiny_project.git("checkout", "-q", "-b", "faster-learning")
    tiny_project.dvc("exp", "run", "-S", "train.learning_rate_init=0.2")
    tiny_project.commit("learning rate 0.2")

    tiny_project.run(sys.executable, "-m", "mnist_mlp.tools.report", "--baseline", "main")
    markdown = (tiny_project.root / "reports/report.md").read_text()
    assert "workspace vs `main`" in markdown
    assert "| `train.learning_rate_init` | `0.1` | `0.2` |" in markdown
    assert re.search(r"\| `test_score` \| `[0-9.]+` \| `[0-9.]+` \| [+-][0-9.e-]+ \|", markdown)
    assert re.search(r"\| `train_score` \| `[0-9.]+` \| `[0-9.]+` \| [+-][0-9.e-]+ \|", markdown)
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown):
        assert (tiny_project.root / "reports" / link).is_file(), link
    page = (tiny_project.root / "reports/report.html").read_text()
    assert not EXTERNAL_REFERENCE.search(page)


@pytest.mark.pipeline
def test_report_when_the_baseline_has_no_results(tiny_project: DvcProject) -> None:
    tiny_project.dvc("repro")
    result = tiny_project.run(sys.executable, "-m", "mnist_mlp.tools.report", "--baseline", "HEAD")
    assert "baseline has no results to draw" in result.stderr
    markdown = (tiny_project.root / "reports/report.md").read_text()
    assert "The baseline `HEAD` has no metrics yet (first run)" in markdown
    assert Path(tiny_project.root / "reports/report_files/weights_and_curves.png").is_file()


@pytest.mark.pipeline
def test_dvc_plots_draw_per_class_precision_and_recall_as_bars(reproduced: DvcProject) -> None:
    shown = json.loads(reproduced.dvc("plots", "show", "--json").stdout)["data"]
    specs = [
        plot["content"] for plots in shown.values() for plot in plots if plot["type"] == "vega"
    ]
    bars = {
        spec["encoding"]["x"]["field"]: spec
        for spec in specs
        if spec.get("mark") in ("bar", {"type": "bar"})
    }
    assert set(bars) == {"precision", "recall"}
    for spec in bars.values():
        assert spec["encoding"]["y"]["field"] == "class"
        assert len(spec["data"]["values"]) == 10


def test_the_confusion_matrix_has_a_row_and_column_per_class_of_any_number() -> None:
    figure = confusion_figure([0, 3, 12, 12], [0, 12, 12, 3])
    ax = figure.axes[0]
    assert ax.images[0].get_array().tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["0", "3", "12"]
