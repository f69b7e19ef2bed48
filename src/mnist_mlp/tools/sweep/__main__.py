"""``python -m mnist_mlp.tools.sweep {run,plan,gather} -S param=value[,value...] ...``

``run`` runs one shard of the grid here, one point after another, as ``dvc exp run -n
<name>``; ``--push REMOTE`` pushes each point to that git remote (its outputs to the
default DVC remote) and skips those already there. ``plan`` prints the shards for N
machines as JSON. ``gather`` tabulates every point of the grid (docs/sweeps.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.io.params import read_yaml
from mnist_mlp.tools.sweep import gather, push, run
from mnist_mlp.tools.sweep.grid import (
    PARAMS_FILE,
    SweepError,
    build_grid,
    plan_shards,
    shard_points,
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    commands = parser.add_subparsers(dest="command", required=True)
    grid = argparse.ArgumentParser(add_help=False)
    grid.add_argument("-S", "--set-param", action="append", default=[], dest="set_params",
                      help="param=value[,value...], as for `dvc exp run -S`")  # fmt: skip
    running = commands.add_parser("run", parents=[grid], help="run one shard of the grid here")
    running.add_argument("--shard", default="1/1", help="I/N: run shard I of N (default 1/1)")
    running.add_argument("--push", default="", metavar="REMOTE", help="git remote to push to")
    running.add_argument("--timeout", type=float, default=3600.0, help="seconds per point")
    planning = commands.add_parser("plan", parents=[grid], help="print the shards as JSON")
    planning.add_argument("--workers", type=int, default=4, help="machines, at most")
    gathering = commands.add_parser("gather", parents=[grid], help="tabulate the grid")
    gathering.add_argument("--pull", default="", metavar="REMOTE", help="git remote to pull from")
    gathering.add_argument("--csv", default="reports/sweep.csv")
    gathering.add_argument("--markdown", default="reports/sweep.md")
    args = parser.parse_args(argv)

    points = build_grid(args.set_params, read_yaml(PARAMS_FILE))
    if args.command == "plan":
        sys.stdout.write(json.dumps(plan_shards(len(points), args.workers)) + "\n")
    elif args.command == "gather":
        if args.pull:
            mine = set(run.experiments())
            push.pull_refs(args.pull, push.names_on(args.pull) & {p.name for p in points} - mine)
        if missing := gather.gather(points, args.csv, args.markdown):
            raise SweepError(
                f"{len(missing)} of {len(points)} points not done: {', '.join(missing)}"
            )
    else:
        shard = shard_points(points, args.shard)
        with run.only_sweep():
            run.check_clean()
            pusher = push.Pusher(args.push) if args.push else None
            done = push.done_and_shared(points, pusher)
            todo = [point for point in shard if point.name not in done]
            run.log.info("%d of %d points to run, the others are done", len(todo), len(shard))
            if failed := run.run_shard(todo, pusher, bool(pusher and pusher.outputs), args.timeout):
                raise SweepError(f"failed: {', '.join(failed)} (see the log above)")


if __name__ == "__main__":
    run_stage(main)
