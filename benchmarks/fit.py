"""Time the fit in a process of its own, its CPU kernels pinned as train pins them or not.

``python -m benchmarks.fit --data DIR --kernels pinned|native [...]`` prints one JSON
object, ``{kind: [median fit seconds, test accuracy]}`` (see ``bench.fit_medians``). The
fit needs a fresh process because the kernel pin (:mod:`mnist_mlp.kernels`) only takes
effect before numpy loads.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", choices=("pinned", "native"), required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--max-iter", type=int, default=10)
    args = parser.parse_args(argv)
    if args.kernels == "pinned":
        from mnist_mlp.kernels import pin_kernels

        pin_kernels()
    # Loads numpy: after the pin.
    from benchmarks.bench import fit_medians
    from mnist_mlp.kernels import running_kernels

    results = {"kernels": running_kernels(), **fit_medians(args.data, args)}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
