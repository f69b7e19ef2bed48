"""The weight grid as the example draws it, and the curves figure."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.legend import Legend
from PIL import Image

from mnist_mlp.core.visualize import (
    check_neurons,
    curves_figure,
    weight_grid_figure,
    weight_grid_frames,
)
from mnist_mlp.errors import ParamsError
from mnist_mlp.io.images import png_bytes, save_gif
from tests.helpers import legends_over_axes


@pytest.fixture
def first_layer() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(784, 20))


def test_grid_draws_the_first_neurons_with_half_the_range(first_layer) -> None:
    figure = weight_grid_figure(first_layer, rows=4, cols=4, scale=0.5)
    axes = figure.axes
    assert len(axes) == 16
    for neuron, ax in enumerate(axes):
        image = ax.get_images()[0]
        np.testing.assert_array_equal(image.get_array(), first_layer[:, neuron].reshape(28, 28))
        assert image.get_clim() == (0.5 * first_layer.min(), 0.5 * first_layer.max())
        assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0


def test_grid_larger_than_the_layer_shows_what_exists(first_layer) -> None:
    figure = weight_grid_figure(first_layer[:, :5], rows=3, cols=3)
    drawn = [ax for ax in figure.axes if ax.get_images()]
    assert len(drawn) == 5
    assert not any(ax.axison for ax in figure.axes[5:])


def test_chosen_neurons(first_layer) -> None:
    figure = weight_grid_figure(first_layer, rows=1, cols=2, neurons=[7, 99, 3])
    shown = [ax.get_images()[0].get_array() for ax in figure.axes]
    np.testing.assert_array_equal(shown[0], first_layer[:, 7].reshape(28, 28))
    np.testing.assert_array_equal(shown[1], first_layer[:, 3].reshape(28, 28))


def test_chosen_neurons_must_exist_in_the_layer() -> None:
    check_neurons(None, 20, "params.yaml")
    check_neurons([0, 19], 20, "params.yaml")
    message = (
        r"^params\.yaml: visualize\.neurons: neuron 20 does not exist: the first layer has "
        r"20 hidden units \(0 to 19\)$"
    )
    with pytest.raises(ParamsError, match=message):
        check_neurons([3, 20, 100_000], 20, "params.yaml")


def test_png_bytes_are_deterministic(first_layer) -> None:
    assert png_bytes(weight_grid_figure(first_layer)) == png_bytes(weight_grid_figure(first_layer))


def test_curves_figure_has_loss_and_accuracy_panels() -> None:
    loss = {"epoch": ["1", "2"], "loss": ["0.5", "0.3"]}
    accuracy = {
        "epoch": ["1", "2"],
        "train_accuracy": ["0.8", "0.9"],
        "test_accuracy": ["0.7", "0.8"],
    }
    figure = curves_figure(loss, accuracy)
    assert [ax.get_title() for ax in figure.axes] == ["Loss", "Accuracy"]
    np.testing.assert_array_equal(figure.axes[0].lines[0].get_ydata(), [0.5, 0.3])
    assert [line.get_label() for line in figure.axes[1].lines] == [
        "train_accuracy",
        "test_accuracy",
    ]
    assert len(curves_figure(loss).axes) == 1


def test_curves_figure_legend_covers_no_curve() -> None:
    loss = {"epoch": ["1", "2"], "loss": ["0.5", "0.3"]}
    names = ["train_accuracy", "test_accuracy", "validation_score"]
    accuracy = {"epoch": ["1", "2"]} | {name: ["0.1", "0.99"] for name in names}
    figure = curves_figure(loss, accuracy)
    [legend] = figure.axes[1].findobj(Legend)
    assert [text.get_text() for text in legend.get_texts()] == names
    assert legends_over_axes(figure) == []


def rendered(figure) -> np.ndarray:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3]


def test_animation_frames_are_the_grid_per_epoch_on_the_final_scale(first_layer) -> None:
    history = np.stack([first_layer * 0.1, first_layer * 0.5, first_layer])
    frames = weight_grid_frames(history, rows=2, cols=3, neurons=[4, 0, 19, 99])
    assert len(frames) == 3 and frames[0].dtype == np.uint8 and frames[0].shape[2] == 3
    limits = (first_layer.min(), first_layer.max())
    for epoch, frame in enumerate(frames, start=1):
        alone = weight_grid_figure(
            history[epoch - 1],
            rows=2,
            cols=3,
            neurons=[4, 0, 19, 99],
            limits=limits,
            title=f"epoch {epoch}",
        )
        np.testing.assert_array_equal(frame, rendered(alone))


def test_gif_has_one_frame_per_epoch_and_stable_bytes(first_layer, tmp_path) -> None:
    history = np.stack([first_layer * 0.5, first_layer])
    save_gif(tmp_path / "a.gif", weight_grid_frames(history, rows=1, cols=2))
    save_gif(tmp_path / "b.gif", weight_grid_frames(history, rows=1, cols=2))
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 2
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()
