"""A review report of the workspace against a baseline revision, in Markdown and HTML.

``python -m mnist_mlp.tools.report --baseline main`` writes ``reports/report.md`` (images in
``reports/report_files/``) and a self-contained ``reports/report.html`` (images inlined
as data URIs, no script, stylesheet or font from the network). It shows the params and
metrics that differ from the baseline (``dvc params diff``, ``dvc metrics diff``), the
weight grids and curves of both runs (once if they are the same run) and the current
confusion matrix, and points to ``explore.html`` beside it for every experiment (a link in
the HTML only: CI publishes what the Markdown links to). A baseline without metrics (a
first run) is reported as such.

CI posts the Markdown as a pull-request comment: every string that comes from params,
metrics, DVC or the baseline's name is a code span there, which GitHub shows as typed (no
markup, mention, issue reference or link), and is escaped in the HTML.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnist_mlp.cli import argument_parser, dvc_json, run_stage
from mnist_mlp.errors import PipelineError, brief
from mnist_mlp.io.files import write_bytes
from mnist_mlp.io.images import png_bytes, save_figure
from mnist_mlp.io.pipeline import stage_arguments
from mnist_mlp.tools.runs import Run, RunFiles, comparison_figure, load_run

log = logging.getLogger(__name__)

# Longer values are cut: a pull-request comment holds at most 65,536 characters.
MAX_VALUE_CHARS = 120
EXPLORE_PAGE = "explore.html"


@dataclass
class Picture:
    """A figure of the report; ``caption`` may name the baseline as ``{baseline}``."""

    title: str
    caption: str
    figure: Figure

    @property
    def file_name(self) -> str:
        return self.title.lower().replace(" ", "_") + ".png"


@dataclass
class Report:
    """Everything the report shows, independent of its format.

    ``notes`` may name the baseline as ``{baseline}``: each format fills it in as code.
    """

    baseline: str
    params: list[tuple[str, Any, Any]]
    metrics: list[tuple[str, Any, Any, Any]]
    pictures: list[Picture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def format_value(value: Any) -> str:
    """Numbers to 6 significant digits, strings as they are, anything else as JSON: on one
    line, at most ``MAX_VALUE_CHARS`` long; ``""`` for a blank string."""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)
    text = " ".join(text.split()) or '""'
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def format_change(old: Any, new: Any, diff: Any) -> str:
    """``+0.0016`` or ``-0.0003`` (``+0`` for none); ``new`` or ``removed`` for a metric
    only one side has."""
    if old is None:
        return "–" if new is None else "new"
    if new is None:
        return "removed"
    if isinstance(diff, int | float) and not isinstance(diff, bool):
        # Adding 0.0 turns -0.0 into 0.0: no change is "+0" whichever way it rounded.
        return f"{diff + 0.0:+.6g}"
    return "–"


def params_rows(params_diff: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(param, old, new)`` from ``dvc params diff --json``."""
    return [
        (name, change.get("old"), change.get("new"))
        for changes in params_diff.values()
        for name, change in sorted(changes.items())
    ]


def metrics_rows(metrics_diff: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """``(metric, old, new, change)`` from ``dvc metrics diff --all --json``."""
    return [
        (name, change.get("old"), change.get("new"), change.get("diff"))
        for changes in metrics_diff.values()
        for name, change in sorted(changes.items())
    ]


def confusion_figure(actual: Sequence[int], predicted: Sequence[int]) -> Figure:
    """The confusion matrix with counts, rows = actual class, columns = predicted, over
    every class either holds."""
    rows, cols = np.asarray(actual, dtype=int), np.asarray(predicted, dtype=int)
    classes = np.unique(np.concatenate([rows, cols]))
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (np.searchsorted(classes, rows), np.searchsorted(classes, cols)), 1)
    figure = Figure(figsize=(6, 5.5), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            color = "white" if count > matrix.max() / 2 else "black"
            ax.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
    ticks = range(len(classes))
    ax.set(xlabel="predicted", ylabel="actual", xticks=ticks, yticks=ticks)
    ax.set_xticklabels(classes)
    ax.set_yticklabels(classes)
    figure.colorbar(image, ax=ax)
    return figure


def build_report(
    baseline: str,
    params_diff: dict[str, Any],
    metrics_diff: dict[str, Any],
    baseline_run: Run | None,
    current_run: Run,
    confusion: pd.DataFrame,
) -> Report:
    """Assemble the report from the diffs, the two runs and the confusion data."""
    metrics = metrics_rows(metrics_diff)
    report = Report(baseline, params_rows(params_diff), metrics)
    if not any(old is not None for _, old, _, _ in metrics):
        report.notes.append(
            "The baseline {baseline} has no metrics yet (first run): "
            "only the current results are shown."
        )
    elif baseline_run is None:
        report.notes.append(
            "The artifacts of {baseline} are neither in the DVC cache nor in a DVC remote: "
            "only the current curves and weights are drawn (dvc pull, or dvc repro the "
            "baseline, to see both)."
        )
    runs = [current_run]
    caption = (
        "The first-layer weights of the workspace, as the example draws them, above its "
        "training loss and test accuracy per epoch."
    )
    if baseline_run is not None:
        runs.insert(0, baseline_run)
        caption = (
            "The first-layer weights of {baseline} and of the workspace, as the example draws "
            "them, above their training loss and test accuracy per epoch; the same run on both "
            "sides is drawn once, named after both."
        )
    report.pictures.append(Picture("Weights and curves", caption, comparison_figure(runs)))
    report.pictures.append(
        Picture(
            "Confusion matrix",
            "The workspace's predictions on the test set: one row per actual class, one "
            "column per predicted class.",
            confusion_figure(confusion["actual"], confusion["predicted"]),
        )
    )
    return report


def markdown_code(text: str) -> str:
    """``text`` as one Markdown code span, whatever backticks it holds (shown literally).

    GitHub shows a code span as typed: no markup, HTML, mention, issue reference, emoji or
    link is made of what it holds.
    """
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def markdown_cell(value: Any) -> str:
    """A table cell holding ``value`` as code; ``–`` for none (not set, or null)."""
    # A table splits cells at every unescaped |, even inside a code span; GitHub drops the
    # backslash of \| there and shows the |.
    return "–" if value is None else markdown_code(format_value(value)).replace("|", r"\|")


def render_markdown(report: Report, image_dir: str) -> str:
    """The report as GitHub-flavoured Markdown; images are links into ``image_dir``.

    Every text that comes from params, metrics, DVC or the baseline's name is a code span
    (:func:`markdown_cell`), as :func:`render_html` escapes it for HTML.
    """

    def fill(template: str) -> str:
        return template.format(baseline=markdown_code(format_value(report.baseline)))

    head = markdown_cell(report.baseline)
    lines = [f"# Experiment report: workspace vs {fill('{baseline}')}", ""]
    # Named, not linked: CI publishes every file report.md links to (`cml --publish`).
    lines += [
        f"Every experiment on one page: `make explore` writes `{EXPLORE_PAGE}` beside this report.",
        "",
    ]
    for note in report.notes:
        lines += [f"> **Note:** {fill(note)}", ""]
    lines += ["## Metrics", "", f"| metric | {head} | workspace | change |", "|---|--:|--:|--:|"]
    lines += [
        f"| {markdown_cell(n)} | {markdown_cell(o)} | {markdown_cell(w)} | "
        f"{format_change(o, w, d)} |"
        for n, o, w, d in report.metrics
    ]
    lines += ["", "## Params changed", ""]
    if report.params:
        lines += [f"| param | {head} | workspace |", "|---|---|---|"]
        lines += [
            f"| {markdown_cell(n)} | {markdown_cell(o)} | {markdown_cell(w)} |"
            for n, o, w in report.params
        ]
    else:
        lines.append("No param differs from the baseline.")
    for picture in report.pictures:
        lines += [
            "",
            f"## {picture.title}",
            "",
            f"![{picture.title}]({image_dir}/{picture.file_name})",
            "",
            f"*{fill(picture.caption)}*",
        ]
    return "\n".join(lines) + "\n"


STYLE = """
body{font:16px/1.5 system-ui,sans-serif;color:#1f2328;max-width:58rem;margin:0 auto;
padding:1.5rem 2rem}
h1{font-size:1.6rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
h2{font-size:1.25rem;margin-top:2.2rem}
code{font:.9em ui-monospace,monospace;background:#eff1f3;padding:.1em .3em;border-radius:4px}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .8rem;text-align:left}
thead th{background:#f6f8fa}
.number{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#f6f8fa}
figure{margin:1rem 0}
img{max-width:100%;height:auto}
figcaption{color:#59636e;font-size:.9rem;margin-top:.3rem}
.note{background:#fff8c5;border-left:4px solid #d4a72c;padding:.6rem 1rem}
"""


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numbers: bool) -> str:
    """A table of already escaped HTML; ``numbers`` right-aligns all but the first column."""
    number = " class='number'" if numbers else ""
    head = f"<th scope='col'>{header[0]}</th>" + "".join(
        f"<th scope='col'{number}>{cell}</th>" for cell in header[1:]
    )
    body = "".join(
        f"<tr><th scope='row'>{row[0]}</th>"
        + "".join(f"<td{number}>{cell}</td>" for cell in row[1:])
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page; every text from data is escaped."""

    def code(value: Any) -> str:
        return f"<code>{html.escape(format_value(value))}</code>"

    def cell(value: Any) -> str:
        return "–" if value is None else html.escape(format_value(value))

    def fill(template: str) -> str:
        return html.escape(template).format(baseline=code(report.baseline))

    parts = [
        f"<h1>Experiment report: workspace vs {code(report.baseline)}</h1>",
        "<p>Every experiment on one page: <code>make explore</code> writes "
        f"<a href='{EXPLORE_PAGE}'>{EXPLORE_PAGE}</a> beside this report.</p>",
    ]
    parts += [f"<p class='note'><strong>Note:</strong> {fill(note)}</p>" for note in report.notes]
    parts.append("<h2>Metrics</h2>")
    rows = [[code(n), cell(o), cell(w), format_change(o, w, d)] for n, o, w, d in report.metrics]
    parts.append(html_table(["metric", code(report.baseline), "workspace", "change"], rows, True))
    parts.append("<h2>Params changed</h2>")
    if report.params:
        rows = [[code(n), cell(o), cell(w)] for n, o, w in report.params]
        parts.append(html_table(["param", code(report.baseline), "workspace"], rows, False))
    else:
        parts.append("<p>No param differs from the baseline.</p>")
    for picture in report.pictures:
        data = base64.b64encode(png_bytes(picture.figure)).decode()
        parts += [
            f"<h2>{html.escape(picture.title)}</h2>",
            f"<figure><img alt='{html.escape(picture.title)}' src='data:image/png;base64,{data}'>",
            f"<figcaption>{fill(picture.caption)}</figcaption></figure>",
        ]
    title = f"Experiment report: workspace vs {html.escape(format_value(report.baseline))}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def write_report(report: Report, out_dir: Path) -> None:
    """Write ``report.md`` with its images in ``report_files/``, and ``report.html``."""
    for picture in report.pictures:
        save_figure(out_dir / "report_files" / picture.file_name, picture.figure)
    write_bytes(out_dir / "report.md", render_markdown(report, "report_files").encode())
    write_bytes(out_dir / "report.html", render_html(report).encode())


def resolve_commit(rev: str) -> str:
    """The commit ``rev`` names (``git rev-parse``); a :class:`PipelineError` naming it if
    git knows no such commit, before any of it reaches DVC's command line."""
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        raise PipelineError(
            f"--baseline {brief(rev)}: expected a branch, tag or commit of this git repository"
        )
    return found.stdout.strip()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    parser.add_argument("--baseline", default="main", help="git revision (default: main)")
    parser.add_argument("--out-dir", default="reports", type=Path)
    parser.add_argument("--dvc-yaml", default="dvc.yaml", help="where the run files are declared")
    args = parser.parse_args(argv)
    commit = resolve_commit(args.baseline)
    files = RunFiles.from_dvc_yaml(args.dvc_yaml)
    current = load_run("workspace", None, files)
    try:
        baseline_run = load_run(args.baseline, commit, files)
    except PipelineError as exc:
        log.info("baseline has no results to draw: %s", exc)
        baseline_run = None
    report = build_report(
        args.baseline,
        dvc_json("params", "diff", commit),
        dvc_json("metrics", "diff", "--all", commit),
        baseline_run,
        current,
        pd.read_csv(stage_arguments("evaluate", args.dvc_yaml)["--confusion"]),
    )
    write_report(report, args.out_dir)
    log.info("wrote %s and %s", args.out_dir / "report.md", args.out_dir / "report.html")


if __name__ == "__main__":
    run_stage(main)
