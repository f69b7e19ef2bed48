"""A sweep's grid: ``-S`` overrides expanded as ``dvc exp run -S`` expands them, each point
named from its values and checked as its stages will check it, then dealt into shards."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dvc.utils.cli_parse import to_path_overrides
from dvc.utils.hydra import get_hydra_sweeps
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from mnist_mlp.core.dataset import FeaturesParams, SplitParams
from mnist_mlp.core.params import flatten, parse_section
from mnist_mlp.core.train import TrainParams
from mnist_mlp.core.visualize import VisualizeParams
from mnist_mlp.errors import PipelineError, reason
from mnist_mlp.io.fetch import FetchParams

PARAMS_FILE = "params.yaml"
MAX_POINTS = 1000  # run one after another: more is a typo, not a plan
# A readable git ref component, of at most 40 characters; other names are hashed instead.
NAME = re.compile(r"[A-Za-z][\w+-]*(\.[\w+-]+)*")


@dataclass(frozen=True)
class Point:
    """One grid point: its index in the grid, its values, its ``-S`` overrides, its name."""

    index: int
    values: Mapping[str, Any]
    overrides: tuple[str, ...]
    name: str


def expand(set_params: Sequence[str]) -> list[list[str]]:
    """The overrides of each grid point, in DVC's order: comma-separated values, ``range()``
    and ``choice()`` make a grid, as for ``dvc exp run --queue -S``."""
    if not set_params:
        raise PipelineError("no grid: give at least one -S param=value[,value...]")
    keys = [text.partition("=")[0] for text in set_params]
    for key in keys:
        if not re.fullmatch(r"[A-Za-z_][\w.]*", key):
            raise PipelineError(f"-S {key}: a sweep sets existing {PARAMS_FILE} params (key=value)")
        if keys.count(key) > 1:
            raise PipelineError(f"-S {key}: swept twice; give its values once, comma-separated")
    try:
        for text in set_params:  # one at a time first, for an error that names it
            get_hydra_sweeps(to_path_overrides([text]))
        sweeps = get_hydra_sweeps(to_path_overrides(set_params))
    except HydraException as exc:
        raise PipelineError(f"-S {text}: {reason(exc)}") from None
    if len(sweeps) > MAX_POINTS:
        raise PipelineError(f"the grid has {len(sweeps)} points, more than {MAX_POINTS}: narrow it")
    return [list(sweep[PARAMS_FILE]) for sweep in sweeps]


def with_values(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with each dotted key of ``values`` set, as ``dvc exp run -S`` sets it."""
    result = json.loads(json.dumps(params))
    for key, value in values.items():
        *sections, name = key.split(".")
        node = result
        for section in sections:
            node = node[section]
        node[name] = value
    return result


def check_point(params: Mapping[str, Any], values: Mapping[str, Any], point: str) -> None:
    """Refuse a point whose key is not in ``params``, or whose sections a stage would refuse."""
    known = flatten(params)
    for key, value in values.items():
        if key not in known:
            raise PipelineError(f"-S {key}: unknown param in {PARAMS_FILE}")
        if value == "" or value == []:
            raise PipelineError(f"-S {key}: empty value")
    sections = {"fetch": FetchParams, "split": SplitParams, "features": FeaturesParams,
                "train": TrainParams, "visualize": VisualizeParams}  # fmt: skip
    swept = with_values(params, values)
    for section in sorted({key.split(".")[0] for key in values} & set(sections)):
        try:
            parse_section(sections[section], swept[section], PARAMS_FILE, section)
        except PipelineError as exc:
            raise PipelineError(f"grid point {point}: {exc}") from None


def _label(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(map(_label, value))
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def point_names(grid: Sequence[Mapping[str, Any]]) -> list[str]:
    """A name per point from its values, the same on every machine: ``hls50-lri0.1`` (the
    initials of each swept key, or its last word where initials collide)."""
    keys = list(grid[0]) if grid else []
    words = [key.rsplit(".", 1)[-1] for key in keys]
    initials = ["".join(w[0] for w in word.split("_")) if "_" in word else word for word in words]
    labels = next(c for c in (initials, words, keys) if len(set(c)) == len(keys))
    names = [
        "-".join(f"{lb}{_label(p[k])}" for lb, k in zip(labels, keys, strict=True)) for p in grid
    ]
    return [
        name
        if NAME.fullmatch(name) and len(name) <= 40 and names.count(name) == 1
        and not name.endswith(".lock")
        else "sweep-" + hashlib.sha1(json.dumps(sorted(point.items())).encode()).hexdigest()[:10]
        for name, point in zip(names, grid, strict=True)
    ]  # fmt: skip


def build_grid(set_params: Sequence[str], params: Mapping[str, Any]) -> list[Point]:
    """Every point of the grid, each checked against ``params`` before anything runs."""
    overrides = expand(set_params)
    parse = OverridesParser.create().parse_overrides
    grid = [{o.key_or_group: o.value() for o in parse(texts)} for texts in overrides]
    for values, texts in zip(grid, overrides, strict=True):
        check_point(params, values, " ".join(texts))
    named = zip(grid, overrides, point_names(grid), strict=True)
    return [Point(i, values, tuple(texts), name) for i, (values, texts, name) in enumerate(named)]


def shard_points(points: Sequence[Point], shard: str) -> list[Point]:
    """The points of ``shard`` (``I/N``): those whose index modulo N is I - 1."""
    match = re.fullmatch(r"(\d+)/(\d+)", shard.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise PipelineError(f"--shard {shard}: expected I/N with 1 <= I <= N, such as 2/3")
    return [point for point in points if point.index % int(match[2]) == int(match[1]) - 1]


def plan_shards(n_points: int, workers: int) -> list[str]:
    """The shards (``"1/N"`` ...) of a grid of ``n_points`` on at most ``workers`` machines."""
    count = max(1, min(n_points, workers))
    return [f"{i}/{count}" for i in range(1, count + 1)]
