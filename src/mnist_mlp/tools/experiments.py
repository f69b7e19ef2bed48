"""Every run ``dvc exp show`` lists, read once, and a leaderboard that fits a terminal.

``python -m mnist_mlp.tools.experiments [--all-branches] [--all-tags]`` prints each run's
name, train and test score, final training loss and the params it changed from the
commit it was run from, best ``test_score`` first, in at most 100 columns.

The runs are the workspace, ``HEAD`` and its experiments (with ``--all-branches`` and
``--all-tags``, those of every branch and tag too), as DVC collects them for ``dvc exp
show``: their params, metrics and the hash of each cached output at their commit. Runs
that are the same run (the workspace and the commit it was reproduced at, usually) are
one, under both names. Their files are read in bulk: git's blobs in one ``git cat-file
--batch``, DVC's outputs straight from its cache by their hash.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from dvc.exceptions import DvcException
from dvc.repo import Repo

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.params import flatten
from mnist_mlp.errors import PipelineError, reason
from mnist_mlp.io.pipeline import stage_arguments

log = logging.getLogger(__name__)

WORKSPACE = "workspace"
PARAMS_FILE = "params.yaml"
# A file's content as a path to read (the workspace's or DVC's cache's copy) or git's bytes.
Source = Path | bytes


@dataclass
class Run:
    """One run ``dvc exp show`` lists: the workspace, a commit, or an experiment.

    Attributes
    ----------
    names : list of str
        Its name (the experiment's; a commit's branch or tag, else its short hash;
        ``workspace``), or several when identical runs were merged.
    rev : str
        Its full commit, or ``workspace``.
    baseline : str
        The full commit it was run from (a commit's own; ``HEAD``'s for the workspace).
    experiment : bool
        Whether it is an experiment (``dvc exp apply`` brings it back).
    params : dict
        ``params.yaml`` at ``rev``.
    metrics : dict
        The metrics file's values.
    outs : dict
        ``{path: md5}`` of each output DVC caches, as ``dvc.lock`` records it.
    """

    names: list[str]
    rev: str
    baseline: str
    experiment: bool
    params: dict[str, Any]
    metrics: dict[str, Any]
    outs: dict[str, str]

    @property
    def name(self) -> str:
        return ", ".join(self.names)


def _file_data(results: Mapping[str, Any], path: str) -> dict[str, Any]:
    data = (results.get(path) or {}).get("data")
    return dict(data) if isinstance(data, Mapping) else {}


def _run(state: Any, name: str, baseline: str, experiment: bool, metrics_file: str) -> Run:
    """A :class:`Run` from one of DVC's ``ExpState``s (which carries its data)."""
    data = state.data
    outs = {path: out.hash for path, out in data.outs.items() if out.use_cache and out.hash}
    return Run(
        [name],
        state.rev,
        baseline,
        experiment,
        _file_data(data.params, PARAMS_FILE),
        _file_data(data.metrics, metrics_file),
        outs,
    )


def runs_from_states(states: Sequence[Any], head: str, metrics_file: str) -> list[Run]:
    """The runs in what ``Repo.experiments.show()`` returns, in its order.

    Queued, running and failed experiments (no results) and revisions DVC could not read
    are left out, the latter with a warning.
    """
    runs = []
    for state in states:
        if state.error or state.data is None:
            log.warning("%s: left out, DVC cannot read it: %s", state.rev, state.error)
            continue
        if state.rev == WORKSPACE:
            runs.append(_run(state, WORKSPACE, head, False, metrics_file))
            continue
        runs.append(_run(state, state.name or state.rev[:7], state.rev, False, metrics_file))
        for exp_range in state.experiments or []:
            executor = exp_range.executor
            tip = exp_range.revs[0] if exp_range.revs else None
            if tip is None or tip.data is None or (executor and executor.state != "success"):
                continue
            name = exp_range.name or tip.name or tip.rev[:7]
            runs.append(_run(tip, name, state.rev, True, metrics_file))
    return runs


def merge_identical(runs: Sequence[Run]) -> list[Run]:
    """Runs with the same params, metrics and cached outputs as one run, under all their
    names; it reads from a commit rather than from the workspace."""
    merged: dict[str, Run] = {}
    for run in runs:
        key = json.dumps([run.params, run.metrics, run.outs], sort_keys=True, default=str)
        if key not in merged:
            merged[key] = Run(**{**vars(run), "names": list(run.names)})
            continue
        kept = merged[key]
        kept.names += run.names
        if kept.rev == WORKSPACE:
            kept.rev, kept.baseline, kept.experiment = run.rev, run.baseline, run.experiment
    return list(merged.values())


def list_runs(
    repo: str | os.PathLike[str] = ".", all_branches: bool = False, all_tags: bool = False
) -> list[Run]:
    """Every run ``dvc exp show`` lists for ``HEAD`` (and every branch and tag), identical
    runs merged.

    Raises
    ------
    PipelineError
        In one line, when DVC cannot list them.
    """
    metrics_file = stage_arguments("evaluate", Path(repo) / "dvc.yaml")["--metrics"]
    try:
        with Repo(os.fspath(repo)) as dvc_repo:
            states = dvc_repo.experiments.show(
                all_branches=all_branches, all_tags=all_tags, hide_queued=True, hide_failed=True
            )
            head = dvc_repo.scm.get_rev()
    except DvcException as exc:
        raise PipelineError(f"cannot list the experiments: {reason(exc)}") from None
    return merge_identical(runs_from_states(states, head, metrics_file))


def git_blobs(repo: str | os.PathLike[str], specs: Sequence[str]) -> list[bytes | None]:
    """The content of each ``<rev>:<path>`` in ``specs`` (None if missing), from one
    ``git cat-file --batch``."""
    if not specs:
        return []
    result = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=repo,
        input="".join(f"{spec}\n" for spec in specs).encode(),
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise PipelineError(f"git cat-file failed: {message[-1]}")
    blobs: list[bytes | None] = []
    stream = io.BytesIO(result.stdout)
    for _ in specs:
        header = stream.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            blobs.append(None)
            continue
        blobs.append(stream.read(int(header[2])))
        stream.read(1)
    return blobs


def run_files(
    runs: Sequence[Run], paths: Sequence[str], repo: str | os.PathLike[str] = "."
) -> list[dict[str, Source | None]]:
    """Each run's files at ``paths``: a DVC-cached output as its file in the cache, a file
    git tracks as its bytes at the run's commit, the workspace's files on disk. None where
    a file is not there (an output never pulled from a DVC remote, for example).
    """
    with Repo(os.fspath(repo)) as dvc_repo:
        cache = dvc_repo.cache.local
    found: list[dict[str, Source | None]] = []
    wanted: list[tuple[int, str, str]] = []
    for index, run in enumerate(runs):
        files: dict[str, Source | None] = {}
        for path in paths:
            if run.rev == WORKSPACE:
                files[path] = Path(repo, path) if Path(repo, path).is_file() else None
            elif path in run.outs:
                cached = Path(cache.oid_to_path(run.outs[path]))
                files[path] = cached if cached.is_file() else None
            else:
                wanted.append((index, path, f"{run.rev}:{path}"))
        found.append(files)
    blobs = git_blobs(repo, [spec for _, _, spec in wanted])
    for (index, path, _), blob in zip(wanted, blobs, strict=True):
        found[index][path] = blob
    return found


def readable(source: Source) -> Path | io.BytesIO:
    """A file's content as something pandas and numpy read."""
    return source if isinstance(source, Path) else io.BytesIO(source)


def final_loss(loss: pd.DataFrame | None) -> float | None:
    """The last epoch's training loss in an ``epoch,loss`` table; None without one."""
    if loss is None or "loss" not in loss or not len(loss):
        return None
    value = pd.to_numeric(loss["loss"], errors="coerce").iloc[-1]
    return float(value) if math.isfinite(value) else None


def final_losses(runs: Sequence[Run], repo: str | os.PathLike[str] = ".") -> list[float | None]:
    """Each run's last training loss, from the loss CSV ``dvc.yaml``'s train stage writes."""
    path = stage_arguments("train", Path(repo) / "dvc.yaml")["--loss"]
    return [
        final_loss(read_table(files[path], f"{path}@{run.name}"))
        for run, files in zip(runs, run_files(runs, [path], repo), strict=True)
    ]


def read_table(source: Source | None, where: str) -> pd.DataFrame | None:
    """A CSV file's table; None when it is missing, or unreadable (with a warning naming
    ``where``)."""
    if source is None:
        return None
    try:
        return pd.read_csv(readable(source))
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot read it (%s)", where, reason(exc))
        return None


def changed_keys(all_params: Sequence[Mapping[str, Any]]) -> list[str]:
    """The keys (``section.name``) whose values differ between params, in file order."""
    flats = [flatten(params) for params in all_params]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    return [key for key in keys if len({json.dumps(f.get(key), default=str) for f in flats}) > 1]


def changed_params(runs: Sequence[Run]) -> list[str]:
    """The params whose values differ between ``runs``, in file order."""
    return changed_keys([run.params for run in runs])


def score(run: Run, name: str) -> float | None:
    """The metric ``name`` of ``run`` as a finite number, or None."""
    value = run.metrics.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return float(value) if math.isfinite(value) else None


_PLAIN = re.compile(r"[A-Za-z_][\w\-]*")


def override_value(value: Any) -> str:
    """``value`` as ``dvc exp run -S`` (Hydra's override grammar) reads it back."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(map(override_value, value)) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{override_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in ("null", "true", "false", "nan", "inf"):
        return text
    # Hydra unescapes only the backslashes before a quote (or the closing one).
    return '"' + re.sub(r'(\\*)("|$)', lambda m: m[1] * 2 + "\\" * bool(m[2]) + m[2], text) + '"'


def overrides(params: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """The ``dvc exp run -S`` values that turn the ``baseline``'s params into ``params``:
    ``key=value``, ``+key=value`` for a key the baseline lacks, ``~key`` for one it has and
    ``params`` lacks."""
    new, old = flatten(params), flatten(baseline)
    # Removals first: a value that became a mapping is removed, then its keys added.
    removed = [f"~{key}" for key in old if key not in new]
    changed = [f"{k}={override_value(v)}" for k, v in new.items() if k in old and old[k] != v]
    return removed + changed + [f"+{k}={override_value(v)}" for k, v in new.items() if k not in old]


def run_overrides(runs: Sequence[Run]) -> list[list[str] | None]:
    """Each run's :func:`overrides` from the commit it was run from; None where that
    commit is not among ``runs``."""
    params = {run.rev: run.params for run in runs}
    return [
        overrides(run.params, params[run.baseline]) if run.baseline in params else None
        for run in runs
    ]


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Each dotted key by its last part (``hidden_layer_sizes``), whole where two share it."""
    last = [key.rsplit(".", 1)[-1] for key in keys]
    return {key: end if last.count(end) == 1 else key for key, end in zip(keys, last, strict=True)}


_OVERRIDE_KEY = re.compile(r"^([+~]?)([^=]+)")


def by_test_score(runs: Sequence[Run]) -> list[int]:
    """Indices of ``runs``, best ``test_score`` first, runs without one last."""
    return sorted(range(len(runs)), key=lambda i: -(score(runs[i], "test_score") or -math.inf))


def leaderboard(runs: Sequence[Run], losses: Sequence[float | None], width: int = 100) -> str:
    """A table of ``runs``, best ``test_score`` first, no line longer than ``width``: name,
    train and test score, final loss, and the params each changed from the commit it was
    run from (all that differ between the runs, where that commit is not listed), wrapped
    onto at most three lines."""
    changes = run_overrides(runs)
    differing = changed_params(runs)
    keys = {m[2] for change in changes for m in map(_OVERRIDE_KEY.match, change or []) if m}
    labels = short_keys(sorted(keys | set(differing)))

    def number(value: float | None, digits: str) -> str:
        return "–" if value is None else format(value, digits)

    def shown(run: Run, change: list[str] | None) -> str:
        if change is None:
            flat = flatten(run.params)
            change = [f"{key}={override_value(flat.get(key))}" for key in differing]
        return " ".join(_OVERRIDE_KEY.sub(lambda m: m[1] + labels[m[2]], c) for c in change)

    name_width = min(28, max(len("name"), *(len(run.name) for run in runs)))
    line = f"{{:<{name_width}}}  {{:>6}}  {{:>6}}  {{:>7}}  {{}}"
    indent = len(line.format(*[""] * 5))
    lines = [line.format("name", "train", "test", "loss", "changed params")]
    for i in by_test_score(runs):
        wrapped = textwrap.wrap(shown(runs[i], changes[i]), width - indent, max_lines=3) or [""]
        train, test = score(runs[i], "train_score"), score(runs[i], "test_score")
        lines.append(
            line.format(
                shorten(runs[i].name, name_width),
                number(train, ".4f"),
                number(test, ".4f"),
                number(losses[i], ".4g"),
                wrapped[0],
            )
        )
        lines += [" " * indent + more for more in wrapped[1:]]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    parser.add_argument("--all-branches", action="store_true", help="every branch's runs too")
    parser.add_argument("--all-tags", action="store_true", help="every tag's runs too")
    args = parser.parse_args(argv)
    runs = list_runs(".", args.all_branches, args.all_tags)
    sys.stdout.write(leaderboard(runs, final_losses(runs)))


if __name__ == "__main__":
    run_stage(main)
