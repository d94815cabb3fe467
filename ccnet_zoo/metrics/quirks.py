"""``--paper-quirks``: the reference evaluation script's exact behaviour (CC-Net ``src/python/eval/metrics.py``).

Per pair it reads both PNGs in grey, min-max normalises each image on its own to 0..255 with
``cv2.normalize(..., 0, 255, NORM_MINMAX)`` (uint8 stays uint8), resizes to 224x224 with ``cv2.resize``
(bilinear) and stacks three channels. Then

* **LPIPS** gets ``cv2.normalize(x_uint8, None, -1, 1, NORM_MINMAX)``, which keeps dtype uint8, so the image is
  *binarised* to {0, 1} (pixels in the top quarter of the range become 1): ``[0,50,100,150,200,255] -> [0,0,0,0,1,1]``;
* **MSE** is ``torchmetrics`` ``mean_squared_error`` on uint8 tensors, whose difference and square wrap around
  modulo 256: MSE([3, 200], [5, 10]) = 4 instead of 18052.

For FID the reference (``fid.py``) reads 3-channel images, min-max normalises each, resizes to 224 (bilinear) and
applies Keras' Inception ``preprocess_input`` (x / 127.5 - 1); the network then resizes to 299.

The default (corrected) computation has none of these: see :mod:`ccnet_zoo.metrics.images`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.images import read_grey

PAPER_SIZE = 224


def minmax_uint8(img: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Per-image min-max to 0..255 exactly as the reference (``cv2.normalize``, uint8 in and out)."""
    import cv2

    return np.asarray(cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX), dtype=np.uint8)


def paper_image(path: Path, size: int = PAPER_SIZE) -> NDArray[np.uint8]:
    """Read, per-image min-max to uint8, resize to ``size`` (cv2 bilinear): (size, size) uint8."""
    import cv2

    img = minmax_uint8(read_grey(path))
    return np.asarray(cv2.resize(img, (size, size)), dtype=np.uint8)


def lpips_binarise(img: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The reference's LPIPS transform ``cv2.normalize(x, None, -1, 1, NORM_MINMAX)`` on uint8: values {0, 1}."""
    import cv2

    return np.asarray(cv2.normalize(img, None, -1, 1, cv2.NORM_MINMAX), dtype=np.uint8)


def mse_uint8(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """The reference's MSE: torchmetrics on 3-channel uint8 tensors (wraps around modulo 256)."""
    import torch
    from torchmetrics.functional import mean_squared_error

    ta = torch.from_numpy(np.ascontiguousarray(a, dtype=np.uint8))
    tb = torch.from_numpy(np.ascontiguousarray(b, dtype=np.uint8))
    if ta.ndim == 2:
        ta, tb = ta.unsqueeze(0).repeat(3, 1, 1), tb.unsqueeze(0).repeat(3, 1, 1)
    return float(mean_squared_error(ta, tb))
