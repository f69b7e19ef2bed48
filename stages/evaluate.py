"""evaluate: the example's train and test scores, per-class metrics and confusion data."""

from mnist_mlp.kernels import describe, pin_kernels

# First: numpy and OpenBLAS read the pin once, when they load.
KERNELS = pin_kernels()

# isort: split
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.dataset import PREDICT_BATCH_ROWS, FeaturesParams
from mnist_mlp.core.evaluate import check_model, evaluate, recorded_scores
from mnist_mlp.io.files import (
    NpyRows,
    all_or_none,
    load_arrays,
    read_csv_columns,
    write_json,
    write_table,
)
from mnist_mlp.io.guard import changes_named_first, snapshot, unchanged
from mnist_mlp.io.model_file import load_model
from mnist_mlp.io.params import load_section

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--data", required=True, help="directory written by preprocess")
    parser.add_argument("--model", required=True, help="model file written by train")
    parser.add_argument("--accuracy", required=True, help="per-epoch CSV written by train")
    parser.add_argument("--snapshots", required=True, help=".npy written by train")
    parser.add_argument("--metrics", required=True, help="output JSON of scores")
    parser.add_argument("--per-class", required=True, help="output CSV of per-class metrics")
    parser.add_argument("--confusion", required=True, help="output CSV: actual,predicted")
    args = parser.parse_args(argv)
    log.info("%s", describe(KERNELS))

    read = snapshot(
        args.params, ["features"], [args.data, args.model, args.accuracy, args.snapshots]
    )
    features = load_section(args.params, "features", FeaturesParams)

    arrays = load_arrays(args.data, ("y_train", "X_test", "y_test"))
    model = load_model(args.model)
    check_model(model, arrays["X_test"].shape[1], arrays["y_train"], args.model)
    try:
        recorded = recorded_scores(
            model, read_csv_columns(args.accuracy), np.load(args.snapshots, mmap_mode="r")
        )
    except (OSError, ValueError) as exc:  # ValueError: not a CSV of text, not an .npy
        # The record only spares predicting the training set again: do that instead.
        log.warning("train's record cannot be read (%s): predicting the training set", exc)
        recorded = None
    with changes_named_first(read):
        metrics, per_class, confusion = evaluate(
            model,
            # Loaded only if the record cannot give its score (47 MB of MNIST's pixels).
            NpyRows(Path(args.data) / "X_train.npy", PREDICT_BATCH_ROWS),
            arrays["y_train"],
            arrays["X_test"],
            arrays["y_test"],
            features.dtype,
            recorded,
        )
    with all_or_none(), unchanged(read):
        write_json(args.metrics, metrics)
        write_table(args.per_class, per_class)
        write_table(args.confusion, confusion)
    log.info("Training set score: %f", metrics["train_score"])
    log.info("Test set score: %f", metrics["test_score"])


if __name__ == "__main__":
    run_stage(main)
