"""Run one shard of a grid of experiments here, plan its shards, or tabulate it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.io.params import read_yaml
from mnist_mlp.tools.sweep import gather, grid, run


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    commands = parser.add_subparsers(dest="command", required=True)
    overrides = argparse.ArgumentParser(add_help=False)
    overrides.add_argument("-S", "--set-param", action="append", default=[], dest="set_params",
                           help="param=value[,value...], as for `dvc exp run -S`")  # fmt: skip
    running = commands.add_parser("run", parents=[overrides], help="run one shard here")
    running.add_argument("--shard", default="1/1", help="I/N: run shard I of N (default 1/1)")
    running.add_argument("--push", default="", metavar="REMOTE", help="git remote to push to")
    running.add_argument("--timeout", type=float, default=3600.0, help="seconds per point")
    planning = commands.add_parser("plan", parents=[overrides], help="print the shards as JSON")
    planning.add_argument("--workers", type=int, default=4, help="machines, at most")
    gathering = commands.add_parser("gather", parents=[overrides], help="tabulate the grid")
    gathering.add_argument("--pull", default="", metavar="REMOTE", help="git remote to pull from")
    gathering.add_argument("--csv", default="reports/sweep.csv")
    gathering.add_argument("--markdown", default="reports/sweep.md")
    args = parser.parse_args(argv)

    points = grid.build_grid(args.set_params, read_yaml(grid.PARAMS_FILE))
    if args.command == "plan":
        sys.stdout.write(json.dumps(grid.plan_shards(len(points), args.workers)) + "\n")
    elif args.command == "gather":
        gather.gather(points, args.pull, args.csv, args.markdown)
    else:
        run.run_shard(points, args.shard, args.push, args.timeout)


if __name__ == "__main__":
    run_stage(main)
