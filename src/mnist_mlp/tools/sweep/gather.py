"""Tabulating a grid: one row per point, its scores and final loss, best first."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import pandas as pd

from mnist_mlp.errors import PipelineError
from mnist_mlp.io.files import write_bytes
from mnist_mlp.tools.experiments import final_losses, list_runs, score
from mnist_mlp.tools.sweep.grid import Point
from mnist_mlp.tools.sweep.run import experiments, problem_with, pull_refs


def gather(points: Sequence[Point], remote: str, csv_path: str, markdown_path: str) -> None:
    """Write the grid's table as CSV and Markdown and print it, first fetching the points
    from the git ``remote`` if given; one line naming the points not done."""
    if remote:
        pull_refs(remote, points, experiments(points))
    runs = {name: run for run in list_runs() for name in run.names}
    found = [runs[point.name] for point in points if point.name in runs]
    losses = {id(run): loss for run, loss in zip(found, final_losses(found), strict=True)}
    rows = []
    for point in points:
        run = runs.get(point.name)
        problem = problem_with(point, run.rev) if run else None
        row: dict[str, object] = {"name": point.name}
        row |= {key: json.dumps(value) for key, value in point.values.items()}
        row |= dict.fromkeys(("train_score", "test_score", "final_loss"))
        if run and not problem:
            row |= {name: score(run, name) for name in ("train_score", "test_score")}
            row["final_loss"] = losses[id(run)]
        row["status"] = "missing" if not run else f"false: {problem}" if problem else "done"
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["test_score", "name"], ascending=[False, True],
                                           na_position="last", kind="stable")  # fmt: skip
    write_bytes(csv_path, table.to_csv(index=False, lineterminator="\n").encode())
    title = f"# Sweep: {len(points)} grid points, best test_score first\n\n"
    write_bytes(markdown_path, (title + table.to_markdown(index=False) + "\n").encode())
    sys.stdout.write(table.to_string(index=False) + "\n")
    if left := [str(row["name"]) for row in rows if row["status"] != "done"]:
        raise PipelineError(f"{len(left)} of {len(points)} points not done: {', '.join(left)}")
