"""The visualize stage's core: the example's first-layer weight grid and the training curves.

Figures are built with :class:`matplotlib.figure.Figure` directly rather than pyplot, so no
global figure state is kept and nothing ever tries to open a window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.image import AxesImage

from mnist_mlp.core.params import param, params_error
from mnist_mlp.memory import check_fits

# The figure is 640x480 pixels: past 16x16 cells a 28x28 image no longer gets its 28x28
# pixels, and each frame of the animation takes seconds.
MAX_GRID_SIDE = 16
FIGURE_PIXELS = 640 * 480
# An RGB frame is held as an array, as a Pillow image and quantized for the GIF.
_COPIES_PER_FRAME = 3


def grid_side(value: int) -> bool:
    return 1 <= value <= MAX_GRID_SIDE


@dataclass(frozen=True)
class VisualizeParams:
    """The ``visualize`` section of ``params.yaml``: the weight grid, as the example draws it.

    The defaults are the example's, for a revision older than a param (see
    :mod:`mnist_mlp.tools.runs`); the stage needs every param in ``params.yaml``.
    """

    rows: int = param(f"an int from 1 to {MAX_GRID_SIDE}", grid_side, default=4)
    cols: int = param(f"an int from 1 to {MAX_GRID_SIDE}", grid_side, default=4)
    neurons: tuple[int, ...] | None = param(
        "null (the first rows*cols neurons) or a list of neuron indices >= 0",
        lambda v: v is None or all(i >= 0 for i in v),
        default=None,
    )
    scale: float = param("a number > 0 (the example uses 0.5)", lambda v: v > 0, default=0.5)
    cmap: str = param(
        "a matplotlib colormap name, e.g. gray", lambda v: v in matplotlib.colormaps, default="gray"
    )


def image_shape(n_pixels: int) -> tuple[int, int]:
    """The square image a hidden unit's ``n_pixels`` input weights form: 784 is 28x28."""
    side = math.isqrt(n_pixels)
    return side, side


def weight_grid_figure(
    first_layer: np.ndarray,
    rows: int = 4,
    cols: int = 4,
    neurons: Sequence[int] | None = None,
    scale: float = 0.5,
    cmap: str = "gray",
    *,
    limits: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw first-layer weights as 28x28 images in a grid, exactly as the example does.

    Parameters
    ----------
    first_layer : ndarray of shape (784, n_hidden)
        ``model.coefs_[0]``.
    rows, cols : int
        Grid size. Cells beyond the drawn neurons stay empty.
    neurons : sequence of int, optional
        Which hidden units to draw; default the first ``rows * cols``. Indices past the
        layer's size are skipped, so a grid larger than the layer shows what exists.
    scale : float
        The colour range is ``scale * (min, max)`` of the layer's weights.
    cmap : str
        Matplotlib colormap name.
    limits : (min, max), optional
        Use these instead of the layer's own min and max (to draw several layers, such as
        the frames of an animation, on one colour scale).
    title : str, optional
        Figure title; the example has none.
    """
    figure = Figure()
    draw_weight_grid(figure, first_layer, rows, cols, neurons, scale, cmap, limits)
    if title:
        figure.suptitle(title)
    return figure


def shown_neurons(n_hidden: int, rows: int, cols: int, neurons: Sequence[int] | None) -> list[int]:
    """The hidden units the grid draws, in order: those that exist, at most rows * cols."""
    candidates = range(rows * cols) if neurons is None else neurons
    return [n for n in candidates if n < n_hidden][: rows * cols]


def check_neurons(neurons: Sequence[int] | None, n_hidden: int, where: str) -> None:
    """Refuse chosen neurons that the first layer does not have.

    The grid leaves such a neuron out (:func:`shown_neurons`, so that runs of several
    layer sizes can be drawn side by side); in a run's own figure it is a mistake, and
    if no chosen neuron exists the figure would be blank.

    Raises
    ------
    ParamsError
        Naming ``where`` (the params file), ``visualize.neurons`` and the layer's size.
    """
    missing = [neuron for neuron in neurons or () if neuron >= n_hidden]
    if missing:
        raise params_error(
            where,
            "visualize.neurons",
            f"neuron {missing[0]} does not exist: the first layer has {n_hidden} hidden "
            f"units (0 to {n_hidden - 1})",
        )


def draw_weight_grid(
    figure: Figure | SubFigure,
    first_layer: np.ndarray,
    rows: int = 4,
    cols: int = 4,
    neurons: Sequence[int] | None = None,
    scale: float = 0.5,
    cmap: str = "gray",
    limits: tuple[float, float] | None = None,
) -> list[tuple[AxesImage, int]]:
    """Draw the weight grid into ``figure`` (a Figure or SubFigure); see weight_grid_figure.

    Returns each drawn image with the hidden unit it shows, in grid order.
    """
    shown = shown_neurons(first_layer.shape[1], rows, cols, neurons)
    vmin, vmax = limits if limits is not None else (first_layer.min(), first_layer.max())
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    shape = image_shape(len(first_layer))
    drawn = []
    for ax, neuron in zip(axes, shown, strict=False):
        image = ax.matshow(
            first_layer[:, neuron].reshape(shape),
            cmap=cmap,
            vmin=scale * vmin,
            vmax=scale * vmax,
        )
        ax.set_xticks(())
        ax.set_yticks(())
        drawn.append((image, neuron))
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    return drawn


def weight_grid_frames(history: np.ndarray, **grid_params: Any) -> list[np.ndarray]:
    """The weight grid after each epoch, as RGB images, on the final weights' colour scale.

    One figure is drawn and its images updated per epoch (building a 16-axes figure per
    frame would cost more than rendering it).

    Parameters
    ----------
    history : ndarray of shape (n_epochs, 784, n_hidden)
        The first layer's weights after each epoch.
    **grid_params
        ``rows``, ``cols``, ``neurons``, ``scale``, ``cmap`` as for weight_grid_figure.

    Returns
    -------
    list of ndarray of uint8, shape (height, width, 3), one per epoch
    """
    limits = (float(history[-1].min()), float(history[-1].max()))
    figure = Figure()
    drawn = draw_weight_grid(figure, history[0], **grid_params, limits=limits)
    canvas = FigureCanvasAgg(figure)
    shape = image_shape(history.shape[1])
    frames = []
    for epoch, layer in enumerate(history, start=1):
        for image, neuron in drawn:
            image.set_data(layer[:, neuron].reshape(shape))
        figure.suptitle(f"epoch {epoch}")
        canvas.draw()
        frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    return frames


def check_draw_memory(
    snapshots_shape: tuple[int, ...], itemsize: int, available: int, source: str
) -> int:
    """Refuse, naming ``source``, an animation that needs more than ``available`` bytes.

    Parameters
    ----------
    snapshots_shape : (n_epochs, 784, n_hidden)
        Of the per-epoch weights, from the ``.npy`` header: every epoch is one frame.
    itemsize : int
        Bytes per weight.

    Returns
    -------
    The estimated bytes.
    """
    parts = {
        "per-epoch snapshots": int(np.prod(snapshots_shape)) * itemsize,
        "animation frames": snapshots_shape[0] * FIGURE_PIXELS * 3 * _COPIES_PER_FRAME,
    }
    what = f"{source} ({snapshots_shape[0]} epochs: lower train.max_iter)"
    return check_fits(parts, available, f"animating {what}")


def epoch_series(columns: Mapping[str, Sequence[Any]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, values)`` of column ``name`` of a per-epoch CSV, as numbers."""
    return np.asarray(columns["epoch"], dtype=int), np.asarray(columns[name], dtype=float)


def curves_figure(
    loss: Mapping[str, Sequence[Any]], accuracy: Mapping[str, Sequence[Any]] | None = None
) -> Figure:
    """Training loss per epoch, and accuracies per epoch beside it when given, their
    legend to the right of the chart, where it covers no curve.

    Parameters
    ----------
    loss : {"epoch": [...], "loss": [...]}
    accuracy : {"epoch": [...], "<name>": [...], ...}, optional
    """
    figure = Figure(figsize=(11, 4) if accuracy else (5, 4), layout="constrained")
    axes = figure.subplots(1, 2 if accuracy else 1, squeeze=False).ravel()
    axes[0].plot(*epoch_series(loss, "loss"), marker="o")
    axes[0].set(xlabel="epoch", ylabel="training loss", title="Loss")
    if accuracy:
        for name in accuracy:
            if name != "epoch":
                axes[1].plot(*epoch_series(accuracy, name), marker="o", label=name)
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    return figure
