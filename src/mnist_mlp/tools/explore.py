"""One self-contained page comparing every experiment: ``reports/explore.html``.

``python -m mnist_mlp.tools.explore [--out reports/explore.html] [--all-branches]
[--all-tags]`` writes, for every run :mod:`mnist_mlp.tools.experiments` lists, a sortable
and filterable table, parallel coordinates to brush, and for the runs picked there their
curves, weight grids, animation, confusion matrices, per-class bars and the commands that
bring them back. The page loads nothing from the network: its script is inlined from
``templates/explore.js``, the data is JSON in the page, and every string from params,
names or DVC is shown as text. The weights are colour indices on each run's final colour
scale (8 bits for the final grid, 4 for the animation's earlier frames), deflated, and
inflated by the browser only when a run is picked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import shlex
import zlib
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.params import flatten, parse_section
from mnist_mlp.core.visualize import VisualizeParams, image_shape, shown_neurons
from mnist_mlp.errors import PipelineError, reason
from mnist_mlp.io.files import write_bytes
from mnist_mlp.io.pipeline import stage_arguments
from mnist_mlp.tools.experiments import (
    WORKSPACE,
    Run,
    Source,
    changed_params,
    final_loss,
    list_runs,
    override_value,
    readable,
    run_files,
    run_overrides,
    score,
    short_keys,
)

log = logging.getLogger(__name__)

TEMPLATES = Path("templates")
# Frames of the weights animation a run keeps (the first and last epochs among them): a
# long run's are sampled, so that 500 runs stay small. The final frame keeps all 8 bits;
# the earlier ones, which only animate, keep the top 4 (a step the noisy weights hide).
MAX_FRAMES = 6
ANIMATION_SHIFT = 4
TABLE_METRICS = ("train_score", "test_score")


@dataclass
class Artifacts:
    """What the page draws of one run; None where its file is not at hand.

    Attributes
    ----------
    loss : DataFrame with columns epoch, loss
    accuracy : DataFrame with columns epoch, train_accuracy, test_accuracy
    per_class : DataFrame with columns class, precision, recall
    confusion : DataFrame with columns actual, predicted, one row per test image
    snapshots : ndarray of shape (n_epochs, n_pixels, n_hidden)
        The first layer after each epoch.
    notes : list of str
        What could not be read, said to the reader of the page.
    """

    loss: pd.DataFrame | None = None
    accuracy: pd.DataFrame | None = None
    per_class: pd.DataFrame | None = None
    confusion: pd.DataFrame | None = None
    snapshots: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ArtifactPaths:
    """Where a run's artifacts are: where ``dvc.yaml``'s stages write them."""

    loss: str
    accuracy: str
    per_class: str
    confusion: str
    snapshots: str

    @classmethod
    def from_dvc_yaml(cls, dvc_yaml: str | Path = "dvc.yaml") -> ArtifactPaths:
        train, evaluate = stage_arguments("train", dvc_yaml), stage_arguments("evaluate", dvc_yaml)
        return cls(
            train["--loss"],
            train["--accuracy"],
            evaluate["--per-class"],
            evaluate["--confusion"],
            train["--snapshots"],
        )


# The columns the page reads from each table.
COLUMNS = {
    "loss": ("epoch", "loss"),
    "accuracy": ("epoch",),
    "per_class": ("class", "precision", "recall"),
    "confusion": ("actual", "predicted"),
}


def load_artifacts(
    files: Mapping[str, Source | None], paths: ArtifactPaths, cached: Container[str] = ()
) -> Artifacts:
    """A run's :class:`Artifacts` from its files (:func:`~.experiments.run_files`); a file
    missing or unreadable becomes a note. ``cached``: the paths DVC caches."""
    artifacts = Artifacts()
    missing = [path for path, source in files.items() if source is None]
    if any(path in cached for path in missing):
        artifacts.notes.append("outputs not in the local DVC cache (dvc exp pull, or dvc pull)")
    artifacts.notes += [f"{path}: not found" for path in missing if path not in cached]
    for name, path in vars(paths).items():
        source = files.get(path)
        if source is None:
            continue
        try:
            if name == "snapshots":
                # Memory-mapped: only the sampled epochs of a long run are read.
                value: Any = (
                    np.load(source, mmap_mode="r")
                    if isinstance(source, Path)
                    else (np.load(readable(source)))
                )
            else:
                value = pd.read_csv(readable(source))
                lacking = [column for column in COLUMNS[name] if column not in value]
                if lacking:
                    raise ValueError(f"expected columns {', '.join(COLUMNS[name])}")
        except (OSError, ValueError) as exc:
            artifacts.notes.append(f"{path}: cannot read it ({reason(exc)})")
            continue
        setattr(artifacts, name, value)
    return artifacts


def read_artifacts(
    runs: Sequence[Run], paths: ArtifactPaths, repo: str | Path = "."
) -> Iterator[Artifacts]:
    """Each run's artifacts, one run at a time (a run's snapshots can be large)."""
    for run, files in zip(runs, run_files(runs, list(vars(paths).values()), repo), strict=True):
        yield load_artifacts(files, paths, run.outs)


def packed(data: bytes) -> str:
    """``data`` deflated, in base64: the page inflates it with ``DecompressionStream``."""
    return base64.b64encode(zlib.compress(data)).decode()


def sampled_epochs(n_epochs: int, most: int = MAX_FRAMES) -> list[int]:
    """Indices of at most ``most`` epochs, evenly spread, the first and last among them."""
    return np.unique(np.linspace(0, n_epochs - 1, min(n_epochs, most)).round()).astype(int).tolist()


def weight_frames(snapshots: np.ndarray, grid: VisualizeParams) -> dict[str, Any]:
    """The drawn units' weights as the page animates them, on the final layer's colour scale.

    Each weight becomes the index (0-255) of its colour in the 256-colour map, exactly as
    matplotlib picks it. The bytes are the final frame (units x pixels), then each earlier
    sampled frame's top bits as its difference from the one before (mostly zeros).
    """
    n_epochs, n_pixels, n_hidden = snapshots.shape if snapshots.ndim == 3 else (0, 0, 0)
    side = image_shape(n_pixels)[0]
    if not n_epochs or side * side != n_pixels:
        raise ValueError(f"expected (epochs, a square's pixels, units), got {snapshots.shape}")
    units = shown_neurons(n_hidden, grid.rows, grid.cols, grid.neurons)
    epochs = sampled_epochs(n_epochs)
    final = snapshots[-1]
    low, high = grid.scale * float(final.min()), grid.scale * float(final.max())
    weights = np.asarray(snapshots[epochs][:, :, units], dtype=float)
    normed = (weights - low) / ((high - low) or 1.0)
    levels = np.clip(np.floor(normed * 256), 0, 255).astype(np.uint8).transpose(0, 2, 1)
    earlier = (levels[:-1] >> ANIMATION_SHIFT).astype(np.int16)
    earlier[1:] = earlier[1:] - earlier[:-1]
    return {
        "rows": grid.rows,
        "cols": grid.cols,
        "units": len(units),
        "side": side,
        "epochs": [epoch + 1 for epoch in epochs],
        "cmap": grid.cmap,
        "shift": ANIMATION_SHIFT,
        "pixels": packed(levels[-1].tobytes() + earlier.astype(np.uint8).tobytes()),
    }


def colormap(name: str) -> str:
    """The 256 RGB colours of matplotlib's colormap ``name``, in base64."""
    colours = matplotlib.colormaps[name](np.arange(256), bytes=True)[:, :3]
    return base64.b64encode(colours.astype(np.uint8).tobytes()).decode()


def rounded(values: Iterable[Any]) -> list[float | None]:
    """Numbers to 6 significant digits (what the page shows); None for anything else."""
    numbers = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in numbers.astype(float)]


def confusion_counts(pairs: pd.DataFrame) -> dict[str, list]:
    """The confusion matrix of ``actual, predicted`` pairs: rows actual, columns predicted."""
    both = np.concatenate([pairs["actual"].to_numpy(), pairs["predicted"].to_numpy()])
    labels, index = np.unique(both, return_inverse=True)
    actual, predicted = np.split(index, 2)
    counts = np.bincount(actual * len(labels) + predicted, minlength=len(labels) ** 2)
    return {
        "labels": [str(label) for label in labels],
        "counts": counts.reshape(len(labels), len(labels)).tolist(),
    }


def curves(artifacts: Artifacts) -> dict[str, dict[str, list[Any]]]:
    """Each per-epoch series, ``{name: {"epoch": [...], "value": [...]}}``."""
    series: dict[str, dict[str, list[Any]]] = {}
    for table, names in (
        (artifacts.loss, ["loss"]),
        (artifacts.accuracy, ["train_accuracy", "test_accuracy"]),
    ):
        if table is not None and "epoch" in table:
            for name in set(names) & set(table.columns):
                epochs = [int(epoch) for epoch in table["epoch"]]
                series[name] = {"epoch": epochs, "value": rounded(table[name])}
    return series


def table_value(value: Any, numeric: bool) -> Any:
    """A param as the table and the axes show it: a number, or its ``-S`` text."""
    if value is None or not numeric:
        return None if value is None else override_value(value)
    return rounded([value])[0]


def restore_commands(run: Run, overrides: list[str] | None) -> list[str]:
    """The commands that bring ``run`` back into the workspace."""
    named = [name for name in run.names if name != WORKSPACE]
    if not named:
        return []
    if not run.experiment:
        return [f"git checkout {shlex.quote(named[0])} && dvc checkout"]
    commands = [f"dvc exp apply {shlex.quote(named[0])}"]
    if overrides is not None:
        commands.append(" ".join(["dvc exp run", *(f"-S {shlex.quote(o)}" for o in overrides)]))
    return commands


def run_entry(
    run: Run,
    artifacts: Artifacts,
    overrides: list[str] | None,
    columns: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Everything the page knows of one run, as JSON-ready values."""
    flat = flatten(run.params)
    values: dict[str, Any] = {}
    for column in columns:
        kind, _, key = column["key"].partition(":")
        if kind == "p":
            values[column["key"]] = table_value(flat.get(key), column["numeric"])
        elif kind == "m":
            values[column["key"]] = table_value(score(run, key), True)
    values["final_loss"] = table_value(final_loss(artifacts.loss), True)
    entry: dict[str, Any] = {
        "name": run.name,
        "commit": run.rev[:7] if run.rev != WORKSPACE else WORKSPACE,
        "values": values,
        "commands": restore_commands(run, overrides),
        "curves": curves(artifacts),
        "notes": list(artifacts.notes),
    }
    if artifacts.per_class is not None:
        table = artifacts.per_class
        entry["per_class"] = {
            "class": [str(c) for c in table["class"]],
            "precision": rounded(table["precision"]),
            "recall": rounded(table["recall"]),
        }
    if artifacts.confusion is not None:
        entry["confusion"] = confusion_counts(artifacts.confusion)
    if artifacts.snapshots is not None:
        try:
            grid = parse_section(
                VisualizeParams,
                run.params.get("visualize", {}),
                f"params.yaml@{run.name}",
                "visualize",
                partial=True,
            )
            entry["grid"] = weight_frames(artifacts.snapshots, grid)
        except (PipelineError, ValueError) as exc:
            entry["notes"].append(f"no weight grid: {reason(exc)}")
    return entry


def page_columns(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """The columns the page shows and filters: the params that differ, the metrics, the
    final loss; ``numeric`` where every value is a number."""

    def is_number(value: Any) -> bool:
        return value is None or (isinstance(value, int | float) and not isinstance(value, bool))

    def column(key: str, label: str, numeric: bool, table: bool) -> dict[str, Any]:
        return {"key": key, "label": label, "title": key.partition(":")[2] or key,
                "numeric": numeric, "table": table}  # fmt: skip

    flats = [flatten(run.params) for run in runs]
    columns = [
        column(f"p:{key}", label, all(is_number(flat.get(key)) for flat in flats), True)
        for key, label in short_keys(changed_params(runs)).items()
    ]
    metrics = dict.fromkeys(name for run in runs for name in run.metrics)
    columns += [column(f"m:{name}", name, True, name in TABLE_METRICS) for name in metrics]
    return [*columns, column("final_loss", "final_loss", True, True)]


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside ``<script type="application/json">``: no ``<``,
    ``>`` or ``&`` that could end the element or start markup, whatever the strings hold."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explore_page(
    runs: Sequence[Run],
    artifacts: Iterable[Artifacts],
    templates: Path = TEMPLATES,
) -> str:
    """The whole page for ``runs`` and their ``artifacts`` (in the same order)."""
    columns = page_columns(runs)
    entries = [
        run_entry(run, found, overrides, columns)
        for run, found, overrides in zip(runs, artifacts, run_overrides(runs), strict=True)
    ]
    cmaps = {entry["grid"]["cmap"] for entry in entries if "grid" in entry}
    data = {
        "columns": columns,
        "runs": entries,
        "colormaps": {name: colormap(name) for name in sorted(cmaps)},
    }
    template = (templates / "explore.html").read_text(encoding="utf-8")
    script = (templates / "explore.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    page = template.replace("/*HASH*/", f"sha256-{digest}", 1).replace("/*SCRIPT*/", script, 1)
    head, _, tail = page.partition("/*DATA*/")
    return head + script_json(data) + tail


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    parser.add_argument("--out", default="reports/explore.html", help="the page to write")
    parser.add_argument("--all-branches", action="store_true", help="every branch's runs too")
    parser.add_argument("--all-tags", action="store_true", help="every tag's runs too")
    args = parser.parse_args(argv)
    runs = list_runs(".", args.all_branches, args.all_tags)
    page = explore_page(runs, read_artifacts(runs, ArtifactPaths.from_dvc_yaml()))
    write_bytes(args.out, page.encode())
    log.info("wrote %s: %d runs, %.1f MB", args.out, len(runs), len(page) / 1e6)


if __name__ == "__main__":
    run_stage(main)
