"""evaluate: the example's train and test scores, per-class metrics and confusion data."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.dataset import ARRAY_NAMES, FEATURES_SCHEMA
from mnist_mlp.evaluate import evaluate
from mnist_mlp.files import load_arrays, write_json, write_table
from mnist_mlp.model_file import load_model
from mnist_mlp.params import load_section

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--data", required=True, help="directory written by preprocess")
    parser.add_argument("--model", required=True, help="model file written by train")
    parser.add_argument("--metrics", required=True, help="output JSON of scores")
    parser.add_argument("--per-class", required=True, help="output CSV of per-class metrics")
    parser.add_argument("--confusion", required=True, help="output CSV: actual,predicted")
    args = parser.parse_args(argv)

    features = load_section(args.params, "features", FEATURES_SCHEMA)

    arrays = load_arrays(args.data, ARRAY_NAMES)
    metrics, per_class, confusion = evaluate(
        load_model(args.model),
        arrays["X_train"],
        arrays["y_train"],
        arrays["X_test"],
        arrays["y_test"],
        features["dtype"],
    )
    write_json(args.metrics, metrics)
    write_table(args.per_class, per_class)
    write_table(args.confusion, confusion)
    log.info("Training set score: %f", metrics["train_score"])
    log.info("Test set score: %f", metrics["test_score"])


if __name__ == "__main__":
    run_stage(main)
