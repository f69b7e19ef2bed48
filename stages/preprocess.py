"""preprocess: decode and validate the IDX files, then split as ``train_test_split`` does."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.dataset import SplitParams, combine, split
from mnist_mlp.io.files import save_arrays
from mnist_mlp.io.guard import snapshot, unchanged
from mnist_mlp.io.idx import read_parts
from mnist_mlp.io.params import load_section

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    for name in ("train-images", "train-labels", "test-images", "test-labels"):
        parser.add_argument(f"--{name}", required=True, help=f"gzip IDX file of {name}")
    parser.add_argument("--out", required=True, help="directory for X_/y_train/test .npy files")
    args = parser.parse_args(argv)

    read = snapshot(
        args.params,
        ["split"],
        [args.train_images, args.train_labels, args.test_images, args.test_labels],
    )
    params = load_section(args.params, "split", SplitParams)
    train, test = read_parts(
        args.train_images, args.train_labels, args.test_images, args.test_labels
    )
    X, y = combine(*train, *test)
    arrays = split(X, y, params, args.params)
    with unchanged(read):
        save_arrays(args.out, arrays)
    log.info("%d training and %d test samples", len(arrays["y_train"]), len(arrays["y_test"]))


if __name__ == "__main__":
    run_stage(main)
