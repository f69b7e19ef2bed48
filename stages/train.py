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
from mnist_mlp.core.dataset import PREDICT_BATCH_ROWS, FeaturesParams, stack_features
from mnist_mlp.core.train import (
    TrainParams,
    build_classifier,
    check_fit_memory,
    check_validation_split,
    fit,
    fit_seconds,
)
from mnist_mlp.io.files import (
    NpyRows,
    all_or_none,
    load_arrays,
    read_rows,
    save_array,
    write_csv,
)
from mnist_mlp.io.guard import changes_named_first, snapshot, unchanged
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
    check_validation_split(classifier, train_shape[0])
    # The training labels (a byte a sample) for the classes; the data after the checks.
    arrays = load_arrays(args.data, ("y_train",))
    n_classes = len(np.unique(arrays["y_train"]))
    needed = check_fit_memory(
        classifier, train_shape, n_classes, features.dtype, available_memory()
    )
    n_pixels = int(np.prod(train_shape[1:]))
    seconds = fit_seconds(classifier, train_shape[0], test_shape[0], n_pixels, n_classes)
    log.info("expecting about %s of memory and %.0f s of fitting", gib(needed), seconds)
    arrays |= load_arrays(args.data, ("y_test",))
    with changes_named_first(read):
        model, history = fit(
            classifier,
            # Converted as read: the training set's uint8 pixels are never held whole.
            stack_features(
                read_rows(data / "X_train.npy", PREDICT_BATCH_ROWS), train_shape, features.dtype
            ),
            arrays["y_train"],
            # Read again for each epoch's score (7.5 MB of MNIST, from the OS's cache) rather
            # than held beside the training set, whose peak is train's; a file replaced
            # meanwhile is named by changes_named_first.
            NpyRows(data / "X_test.npy", PREDICT_BATCH_ROWS),
            arrays["y_test"],
            features.dtype,
        )
    # All five or none: a later one that cannot be written (a full disk) leaves none.
    with all_or_none(), unchanged(read):
        save_model(args.model, model)
        write_csv(args.loss, ["epoch", "loss"], history.loss_rows())
        write_csv(args.accuracy, history.accuracy_header(), history.accuracy_rows())
        # visualize draws from these arrays: it needs neither scikit-learn nor the model file.
        save_array(args.first_layer, model.coefs_[0])
        save_array(args.snapshots, np.stack(history.first_layer))


if __name__ == "__main__":
    run_stage(main)
