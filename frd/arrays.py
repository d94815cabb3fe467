"""In-memory images (numpy arrays, torch tensors) as image sets, and the ``data_range`` contract.

FRD is defined on images as they are stored: radiomics bins raw intensities (v0: bin width 25),
so the same pictures as 0–255, [0, 1] or [-1, 1] floats give three different numbers. An explicit
``data_range=(lo, hi)`` maps array input to the grid an 8-bit PNG of it would hold:

    q = clip(floor((x − lo) / (hi − lo) · 255 + 0.5), 0, 255)   as uint8

(round half up, values outside [lo, hi] clipped, as ``torchvision.utils.save_image`` and PIL's
``Image.fromarray(q)`` would store them), so a model's [-1, 1] output with ``data_range=(-1, 1)``
gives the FRD of the PNGs it would be saved as. NaN cannot be stored in a PNG and is an error.
Without ``data_range``, integer arrays are used as they are (like 8/16-bit files) and float arrays
too, with one warning naming the range seen.

Accepted shapes: numpy batches (N, H, W) 2D, (N, D, H, W) 3D, (N, H, W, 3|4) colour; a list of
per-image arrays (H, W), (D, H, W) or (H, W, 3|4); torch tensors channel-first (N, H, W),
(N, 1|3, H, W) or (N, 1, D, H, W). Colour becomes luminance (Rec. 709) after the 8-bit mapping,
as reading the RGB PNG would do. torch is never imported here: tensors are recognised by duck typing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidImageError, SettingsError
from .io import ImageRef

#: (lo, hi): the intensities that map to 0 and 255.
DataRange = tuple[float, float]


def _is_tensor(x: Any) -> bool:
    return hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy") and hasattr(x, "dim")


def is_array_input(x: Any) -> bool:
    """True for a numpy array, a torch tensor, or a non-empty list/tuple of them."""
    if isinstance(x, np.ndarray) or _is_tensor(x):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(i, np.ndarray) or _is_tensor(i) for i in x)


def _tensor_to_numpy(t: Any, batch: bool) -> np.ndarray:
    """A tensor as numpy, channel-first batches moved to the numpy layout (channel-last or squeezed)."""
    t = t.detach().cpu()
    # numpy has no bfloat16: half-precision floats go through float32 (exact for both).
    x = t.float().numpy() if t.dtype.is_floating_point and t.dtype.itemsize < 4 else t.numpy()
    if not batch:
        return x
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 4 and x.shape[1] in (3, 4):
        return np.moveaxis(x, 1, -1)
    if x.ndim == 5 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 3:
        return x
    raise SettingsError(f"expected tensors (N,H,W), (N,1|3,H,W) or (N,1,D,H,W), got shape {tuple(x.shape)}")


def check_data_range(data_range: Any) -> DataRange | None:
    """Validate ``(lo, hi)``: two finite numbers with lo < hi."""
    if data_range is None:
        return None
    if isinstance(data_range, (str, bytes)):
        raise SettingsError(f"data_range must be (lo, hi), got {data_range!r}")
    try:
        lo, hi = (float(v) for v in data_range)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"data_range must be (lo, hi), got {data_range!r}") from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise SettingsError(f"data_range must be two finite numbers with lo < hi, got {data_range!r}")
    return (lo, hi)


def to_png_grid(x: np.ndarray, data_range: DataRange) -> np.ndarray:
    """The uint8 values an 8-bit PNG of ``x`` would hold (see the module docstring)."""
    lo, hi = data_range
    y = np.asarray(x, dtype=np.float64)
    nan = int(np.isnan(y).sum())
    if nan:
        raise InvalidImageError(f"{nan} NaN pixel(s): NaN has no place on the 8-bit grid of data_range")
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.floor((y - lo) / (hi - lo) * 255.0 + 0.5)
    return np.clip(y, 0, 255).astype(np.uint8)


@dataclass
class ArrayImages:
    """An image set held in memory: one :class:`ImageRef` per image, ready for extraction."""

    refs: list[ImageRef]
    #: (min, max) over the finite values of float input used without ``data_range``, else None.
    float_range: tuple[float, float] | None = None


def as_array_images(x: Any, data_range: DataRange | None = None, label: str = "array") -> ArrayImages:
    """Turn array or tensor input into an :class:`ArrayImages` (see the module docstring for shapes)."""
    if isinstance(x, np.ndarray) or _is_tensor(x):
        batch = _tensor_to_numpy(x, batch=True) if _is_tensor(x) else x
        if batch.ndim not in (3, 4):
            raise SettingsError(
                f"an image batch is (N,H,W), (N,D,H,W) or (N,H,W,3), got shape {batch.shape}; "
                "pass a list for images of different sizes"
            )
        images: Sequence[np.ndarray] = list(batch)
    else:
        images = [_tensor_to_numpy(i, batch=False) if _is_tensor(i) else np.asarray(i) for i in x]
    if not images:
        raise SettingsError(f"{label}: the image batch is empty")
    lo_seen, hi_seen = math.inf, -math.inf
    refs: list[ImageRef] = []
    for i, img in enumerate(images):
        if img.dtype.kind not in "biuf":
            raise SettingsError(f"{label}[{i}]: expected numeric pixels, got dtype {img.dtype}")
        if data_range is not None:
            img = to_png_grid(img, data_range)
        elif img.dtype.kind == "f":
            finite = img[np.isfinite(img)]
            if finite.size:
                lo_seen, hi_seen = min(lo_seen, float(finite.min())), max(hi_seen, float(finite.max()))
        refs.append(ImageRef(path=f"{label}[{i}]", key=f"{i:08d}", array=img))
    float_range = (lo_seen, hi_seen) if lo_seen <= hi_seen else None
    return ArrayImages(refs=refs, float_range=float_range)


def float_warning(ranges: Sequence[tuple[float, float] | None]) -> str | None:
    """The one warning for float input without ``data_range``, naming the range seen (or None)."""
    seen = [r for r in ranges if r is not None]
    if not seen:
        return None
    lo, hi = min(r[0] for r in seen), max(r[1] for r in seen)
    return (
        f"float images without data_range: intensities in [{lo:.6g}, {hi:.6g}] are used as they are, and FRD "
        "depends on the intensity scale; pass data_range=(lo, hi) (e.g. (-1, 1) or (0, 1)) to get the FRD of "
        "the 8-bit PNGs these images would be saved as"
    )
