"""train: fit ``MLPClassifier(**params["train"])`` and record every epoch."""

from mnist_mlp.kernels import describe, pin_kernels

# First: numpy and OpenBLAS read the pin once, when they load.
KERNELS = pin_kernels()

# isort: split
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.dataset import ARRAY_NAMES, FeaturesParams, to_features
from mnist_mlp.core.train import (
    TrainParams,
    build_classifier,
    check_fit_memory,
    fit,
    fit_seconds,
)
from mnist_mlp.io.files import load_arrays, save_array, write_csv
from mnist_mlp.io.guard import snapshot, unchanged
from mnist_mlp.io.model_file import save_model
from mnist_mlp.io.params import load_section
from mnist_mlp.memory import available_memory, gib, npy_header

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--data", required=True, help="directory written by preprocess")
    parser.add_argument("--model", required=True, help="output model file (skops)")
    parser.add_argument("--loss", required=True, help="output CSV: epoch,loss")
    parser.add_argument("--accuracy", required=True, help="output CSV: per-epoch accuracies")
    parser.add_argument(
        "--first-layer", required=True, help="output .npy: the fitted first-layer weights"
    )
    parser.add_argument(
        "--snapshots", required=True, help="output .npy: first-layer weights after each epoch"
    )
    args = parser.parse_args(argv)
    log.info("%s", describe(KERNELS))

    read = snapshot(args.params, ["features", "train"], [args.data])
    features = load_section(args.params, "features", FeaturesParams)

    classifier = build_classifier(load_section(args.params, "train", TrainParams))
    data = Path(args.data)
    train_shape, _ = npy_header(data / "X_train.npy")
    test_shape, _ = npy_header(data / "X_test.npy")
    needed = check_fit_memory(
        classifier, train_shape, test_shape[0], features.dtype, available_memory()
    )
    seconds = fit_seconds(classifier, train_shape[0], test_shape[0], int(np.prod(train_shape[1:])))
    log.info("expecting about %s of memory and %.0f s of fitting", gib(needed), seconds)
    arrays = load_arrays(args.data, ARRAY_NAMES)
    model, history = fit(
        classifier,
        # pop: the uint8 pixels are freed once converted (47 MB of MNIST's training set).
        to_features(arrays.pop("X_train"), features.dtype),
        arrays["y_train"],
        to_features(arrays["X_test"], features.dtype),
        arrays["y_test"],
    )
    with unchanged(read):
        save_model(args.model, model)
        write_csv(args.loss, ["epoch", "loss"], history.loss_rows())
        write_csv(args.accuracy, history.accuracy_header(), history.accuracy_rows())
        # visualize draws from these arrays: it needs neither scikit-learn nor the model file.
        save_array(args.first_layer, model.coefs_[0])
        save_array(args.snapshots, np.stack(history.first_layer))


if __name__ == "__main__":
    run_stage(main)
