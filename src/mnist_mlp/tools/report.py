"""A review report of the workspace against a baseline revision, in Markdown and HTML.

``python -m mnist_mlp.tools.report --baseline main`` writes ``reports/report.md`` (images in
``reports/report_files/``) and a self-contained ``reports/report.html`` (images inlined
as data URIs, no script, stylesheet or font from the network). It shows the params and
metrics that differ from the baseline (``dvc params diff``, ``dvc metrics diff``), the
loss and accuracy curves of both runs on one chart, their weight grids side by side and
the current confusion matrix. A baseline without metrics (a first run) is reported as
such. Every string that comes from params, metrics or the baseline's name is escaped, in
the Markdown (which CI posts as a pull-request comment) as in the HTML.
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


@dataclass
class Report:
    """Everything the report shows, independent of its format."""

    baseline: str
    params: list[tuple[str, Any, Any]]
    metrics: list[tuple[str, Any, Any, Any]]
    baseline_has_metrics: bool
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def format_value(value: Any) -> str:
    """Numbers to 6 significant digits; ``None`` as a dash; anything else as JSON."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    return json.dumps(value)


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
    """A 10x10 confusion matrix with counts, rows = actual digit, columns = predicted."""
    matrix = np.zeros((10, 10), dtype=int)
    np.add.at(matrix, (np.asarray(actual, dtype=int), np.asarray(predicted, dtype=int)), 1)
    figure = Figure(figsize=(6, 5.5), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            color = "white" if count > matrix.max() / 2 else "black"
            ax.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
    ax.set(
        xlabel="predicted",
        ylabel="actual",
        xticks=range(10),
        yticks=range(10),
        title="Confusion matrix (test set)",
    )
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
    has_metrics = any(old is not None for _, old, _, _ in metrics)
    report = Report(baseline, params_rows(params_diff), metrics, has_metrics)
    if not has_metrics:
        report.notes.append(
            f"The baseline {baseline} has no metrics yet (first run): "
            "only the current results are shown."
        )
    elif baseline_run is None:
        report.notes.append(
            f"The artifacts of {baseline} are neither in the DVC cache nor in a DVC remote: "
            "only the current curves and weights are drawn (dvc pull, or dvc repro the "
            "baseline, to see both)."
        )
    runs = [current_run] if baseline_run is None else [baseline_run, current_run]
    report.figures["curves and weights"] = comparison_figure(runs)
    report.figures["confusion matrix"] = confusion_figure(
        confusion["actual"], confusion["predicted"]
    )
    return report


def _file_name(title: str) -> str:
    return title.replace(" ", "_") + ".png"


# Characters that Markdown (GitHub's) would read as markup in a table cell or a line of
# text: code spans, emphasis, links and images, table cells, strikethrough.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|~!])")


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown: one line, markup characters escaped, HTML as entities.

    Param values and revision names come from whoever wrote the branch, and CI posts the
    report as a pull-request comment: a value must not open a link, an image, a code span,
    raw HTML or a new table row.
    """
    one_line = " ".join(text.split())
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", one_line), quote=False)


def markdown_code(text: str) -> str:
    """``text`` as one Markdown code span, whatever backticks it holds (shown literally)."""
    one_line = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall("`+", one_line)), default=0) + 1)
    padding = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{fence}{padding}{one_line}{padding}{fence}"


def render_markdown(report: Report, image_dir: str) -> str:
    """The report as GitHub-flavoured Markdown; images are links into ``image_dir``.

    Every text that comes from params, metrics or the baseline's name is escaped with
    :func:`markdown_text`, as :func:`render_html` escapes it for HTML.
    """

    def cell(value: Any) -> str:
        return markdown_text(format_value(value))

    baseline = markdown_text(report.baseline)
    lines = [f"# Experiment report: workspace vs {markdown_code(report.baseline)}", ""]
    lines += [f"> {markdown_text(note)}" for note in report.notes] + ([""] if report.notes else [])
    lines += [
        "## Metrics",
        "",
        f"| metric | {baseline} | workspace | change |",
        "|---|---|---|---|",
    ]
    lines += [f"| {cell(n)} | {cell(o)} | {cell(w)} | {cell(d)} |" for n, o, w, d in report.metrics]
    lines += ["", "## Params changed", ""]
    if report.params:
        lines += [f"| param | {baseline} | workspace |", "|---|---|---|"]
        lines += [f"| {cell(n)} | {cell(o)} | {cell(w)} |" for n, o, w in report.params]
    else:
        lines.append("No param differs from the baseline.")
    for title in report.figures:
        lines += [
            "",
            f"## {title.capitalize()}",
            "",
            f"![{title}]({image_dir}/{_file_name(title)})",
        ]
    return "\n".join(lines) + "\n"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page; every text is escaped."""

    def cell(value: Any) -> str:
        return f"<td>{html.escape(format_value(value))}</td>"

    baseline = html.escape(report.baseline)
    parts = [f"<h1>Experiment report: workspace vs <code>{baseline}</code></h1>"]
    parts += [f"<p class='note'>{html.escape(note)}</p>" for note in report.notes]
    parts.append(
        f"<h2>Metrics</h2><table><tr><th>metric</th><th>{baseline}</th>"
        "<th>workspace</th><th>change</th></tr>"
    )
    parts += ["<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in report.metrics]
    parts.append("</table><h2>Params changed</h2>")
    if report.params:
        parts.append(f"<table><tr><th>param</th><th>{baseline}</th><th>workspace</th></tr>")
        parts += ["<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in report.params]
        parts.append("</table>")
    else:
        parts.append("<p>No param differs from the baseline.</p>")
    for title, figure in report.figures.items():
        data = base64.b64encode(png_bytes(figure)).decode()
        parts.append(f"<h2>{html.escape(title.capitalize())}</h2>")
        parts.append(f"<img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>")
    style = (
        "body{font-family:sans-serif;max-width:1400px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
        "img{max-width:100%}.note{background:#fff3cd;padding:8px}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>Experiment report vs {baseline}</title><style>{style}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def write_report(report: Report, out_dir: Path) -> None:
    """Write ``report.md`` with its images in ``report_files/``, and ``report.html``."""
    for title, figure in report.figures.items():
        save_figure(out_dir / "report_files" / _file_name(title), figure)
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
