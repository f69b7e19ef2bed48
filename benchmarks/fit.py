"""Time the fit in a process of its own, its CPU kernels pinned as train pins them or not.

``python -m benchmarks.fit --data DIR --kernels pinned|native [...]`` prints one JSON object:
the kernels that ran, and for ``float64`` and ``float32`` features the median fit seconds
and the test accuracy, BLAS on one thread as train runs it, and the median seconds of
scoring both sets once as train's per-epoch record does after each epoch. A process of its
own because the kernel pin (:mod:`mnist_mlp.kernels`) only takes effect before numpy loads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", choices=("pinned", "native"), required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--params", type=Path, default="params.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.kernels == "pinned":
        from mnist_mlp.kernels import pin_kernels

        pin_kernels()
    # These load numpy: after the pin.
    from mnist_mlp.core.dataset import SplitParams, combine, predict, split, to_features
    from mnist_mlp.core.train import TrainParams, build_classifier
    from mnist_mlp.io.idx import read_pair
    from mnist_mlp.io.params import load_section
    from mnist_mlp.kernels import pinned_blas_threads, running_kernels

    data = args.data
    X, y = combine(
        *read_pair(data / "train-images-idx3-ubyte.gz", data / "train-labels-idx1-ubyte.gz"),
        *read_pair(data / "t10k-images-idx3-ubyte.gz", data / "t10k-labels-idx1-ubyte.gz"),
    )
    arrays = split(X, y, load_section(args.params, "split", SplitParams), args.params)
    results: dict[str, object] = {"kernels": running_kernels()}
    for dtype in ("float64", "float32"):
        X_train, X_test = (to_features(arrays[n], dtype) for n in ("X_train", "X_test"))
        seconds = []
        for _ in range(args.repeats):
            classifier = build_classifier(load_section(args.params, "train", TrainParams))
            start = time.perf_counter()
            with warnings.catch_warnings(), pinned_blas_threads():
                warnings.simplefilter("ignore")
                classifier.fit(X_train, arrays["y_train"])
            seconds.append(time.perf_counter() - start)
        with pinned_blas_threads():
            results[dtype] = [
                statistics.median(seconds),
                classifier.score(X_test, arrays["y_test"]),
            ]
            # What train's per-epoch record costs each epoch: scoring both sets as it does.
            scoring = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                predict(classifier, X_train)
                predict(classifier, arrays["X_test"], dtype)
                scoring.append(time.perf_counter() - start)
        results[f"{dtype} scoring"] = statistics.median(scoring)
        results[f"{dtype} scoring least"] = min(scoring)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
