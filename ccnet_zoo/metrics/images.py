"""Reading grey PNGs and the corrected (default) size policy for paired metrics.

Corrected policy: images are used as stored (uint8 0..255, already min-max normalised per volume by the data
layer); when a pair differs in size the real image is resized to the synthetic one's size (``cv2.INTER_AREA``
when shrinking, ``cv2.INTER_LINEAR`` when enlarging), so the model's output is never resampled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.errors import MetricsError

if TYPE_CHECKING:
    from ccnet_zoo.metrics.pairing import Pair


def read_grey(path: Path) -> NDArray[np.uint8]:
    """A PNG as a uint8 (H, W) array (colour images are converted to grey)."""
    from ccnet_zoo.data.layout import read_png

    try:
        return read_png(Path(path))
    except (OSError, ValueError) as err:
        raise MetricsError(f"cannot read {path}: {err}") from err


def resize(img: NDArray[np.uint8], shape: tuple[int, int]) -> NDArray[np.uint8]:
    """Resize a grey uint8 image to ``shape`` (H, W): area when shrinking, bilinear when enlarging."""
    import cv2

    if img.shape == shape:
        return img
    shrink = shape[0] * shape[1] < img.shape[0] * img.shape[1]
    out = cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.asarray(out, dtype=np.uint8)


def load_pair(real: Path, synth: Path) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """A pair as uint8 arrays of one size (the synthetic image's)."""
    s = read_grey(synth)
    r = resize(read_grey(real), (int(s.shape[0]), int(s.shape[1])))
    return r, s


def pair_arrays(pairs: Sequence[Pair]) -> Iterator[tuple[NDArray[np.uint8], NDArray[np.uint8]]]:
    """The pairs as uint8 (real, synthetic) arrays of one size each (corrected policy), in order."""
    for p in pairs:
        yield load_pair(p.real, p.synth)
