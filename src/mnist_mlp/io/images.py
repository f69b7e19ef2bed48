"""Saving figures as PNG and animated GIF, atomically and with stable bytes.

Kept apart from :mod:`mnist_mlp.io.files` so that stages which draw nothing do not pay for
importing matplotlib and Pillow.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from mnist_mlp.io.files import atomic_path, reported_as, write_bytes


def png_bytes(figure: Figure) -> bytes:
    """``figure`` as PNG, without metadata that would vary between runs."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def save_figure(path: str | os.PathLike[str], figure: Figure) -> None:
    """Save ``figure`` as PNG atomically."""
    write_bytes(path, png_bytes(figure))


def save_gif(
    path: str | os.PathLike[str], frames: Sequence[np.ndarray], milliseconds_per_frame: int = 500
) -> None:
    """Save RGB ``frames`` (uint8, height x width x 3) as a looping animated GIF, atomically."""
    images = [Image.fromarray(frame) for frame in frames]
    with reported_as(path), atomic_path(path) as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=milliseconds_per_frame,
            loop=0,
        )
