"""visualize: the example's 4x4 first-layer weight grid and the training curves."""

from mnist_mlp.kernels import describe, pin_kernels

# First: numpy and OpenBLAS read the pin once, when they load.
KERNELS = pin_kernels()

# isort: split
import logging
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.core.visualize import (
    VisualizeParams,
    check_draw_memory,
    check_neurons,
    curves_figure,
    weight_grid_figure,
    weight_grid_frames,
)
from mnist_mlp.io.files import all_or_none, read_epoch_csv
from mnist_mlp.io.guard import snapshot, unchanged
from mnist_mlp.io.images import save_figure, save_gif
from mnist_mlp.io.params import load_section
from mnist_mlp.memory import available_memory, gib, npy_header

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--first-layer", required=True, help=".npy written by train")
    parser.add_argument("--loss", required=True, help="CSV written by train: epoch,loss")
    parser.add_argument("--accuracy", required=True, help="CSV written by train: accuracies")
    parser.add_argument("--snapshots", required=True, help=".npy written by train")
    parser.add_argument("--weights-figure", required=True, help="output PNG of the weight grid")
    parser.add_argument("--weights-animation", required=True, help="output GIF, one frame/epoch")
    parser.add_argument("--curves-figure", required=True, help="output PNG of loss and accuracy")
    args = parser.parse_args(argv)
    log.info("%s", describe(KERNELS))

    read = snapshot(
        args.params, ["visualize"], [args.first_layer, args.loss, args.accuracy, args.snapshots]
    )
    params = load_section(args.params, "visualize", VisualizeParams)
    first_layer = np.load(args.first_layer)
    check_neurons(params.neurons, first_layer.shape[1], args.params)
    loss = read_epoch_csv(args.loss, ["loss"])
    accuracy = read_epoch_csv(args.accuracy, ["train_accuracy", "test_accuracy"])
    shape, dtype = npy_header(args.snapshots)
    needed = check_draw_memory(shape, dtype.itemsize, available_memory(), args.snapshots)
    log.info("expecting to use about %s of memory", gib(needed))
    grid = weight_grid_figure(first_layer, **asdict(params))
    frames = weight_grid_frames(np.load(args.snapshots), **asdict(params))
    curves = curves_figure(loss, accuracy)
    with all_or_none(), unchanged(read):
        save_figure(args.weights_figure, grid)
        save_gif(args.weights_animation, frames)
        save_figure(args.curves_figure, curves)


if __name__ == "__main__":
    run_stage(main)
