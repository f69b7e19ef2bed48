"""Tabulating a grid: one row per point, its scores and final loss, best first."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Sequence

import pandas as pd

from mnist_mlp.io.files import write_bytes
from mnist_mlp.io.params import read_yaml
from mnist_mlp.io.pipeline import stage_arguments
from mnist_mlp.tools.sweep.grid import PARAMS_FILE, Point
from mnist_mlp.tools.sweep.run import checked, experiments, problem_with

log = logging.getLogger(__name__)


def point_row(point: Point, commit: str | None, problem: str | None) -> dict[str, object]:
    """The row of one point: its name, swept values, scores and final loss, and status."""
    row: dict[str, object] = {"name": point.name}
    row |= {key: json.dumps(value) for key, value in point.values.items()}
    scores, loss = {}, None
    if commit and not problem:
        scores = json.loads(
            checked("git", "show", f"{commit}:{stage_arguments('evaluate')['--metrics']}")
        )
        losses = pd.read_csv(
            io.StringIO(checked("git", "show", f"{commit}:{stage_arguments('train')['--loss']}"))
        )
        loss = float(losses["loss"].iloc[-1]) if len(losses) else None
    row |= {"train_score": scores.get("train_score"), "test_score": scores.get("test_score")}
    row["final_loss"] = loss
    row["status"] = "missing" if not commit else f"false: {problem}" if problem else "done"
    return row


def gather(points: Sequence[Point], csv_path: str, markdown_path: str) -> list[str]:
    """Write the grid's table as CSV and Markdown, print it; return the missing names."""
    here, head_params = experiments(), read_yaml(PARAMS_FILE)
    rows = [
        point_row(
            point,
            here.get(point.name),
            here.get(point.name) and problem_with(point, here[point.name], head_params),
        )
        for point in points
    ]
    table = pd.DataFrame(rows).sort_values(
        ["test_score", "name"], ascending=[False, True], na_position="last", kind="stable"
    )
    write_bytes(csv_path, table.to_csv(index=False, lineterminator="\n").encode())
    title = f"# Sweep: {len(points)} grid points, best test_score first\n\n"
    write_bytes(markdown_path, (title + table.to_markdown(index=False) + "\n").encode())
    sys.stdout.write(table.to_string(index=False) + "\n")
    log.info("wrote %s and %s", csv_path, markdown_path)
    return [row["name"] for row in rows if row["status"] != "done"]  # type: ignore[misc]
