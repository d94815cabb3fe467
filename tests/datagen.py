"""Synthetic image sets for the tests: textured 'tissue' with blobs, reproducible from a seed.

Nothing here is real data; the images are made so that radiomics features vary from image to
image (texture, contrast, blobs) and so that two sets can differ in a controlled way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


def tissue(rng: np.random.Generator, shape: tuple[int, ...], smooth: float = 2.0, contrast: float = 1.0) -> np.ndarray:
    """A float image in [0, 1]: smoothed noise texture plus a few bright blobs."""
    base = ndimage.gaussian_filter(rng.normal(size=shape), smooth)
    base = (base - base.min()) / (np.ptp(base) + 1e-9)
    grid = np.indices(shape).astype(float)
    for _ in range(rng.integers(1, 4)):
        c = [rng.uniform(0.2, 0.8) * s for s in shape]
        r = rng.uniform(0.08, 0.2) * min(shape)
        d2 = sum((g - ci) ** 2 for g, ci in zip(grid, c, strict=True))
        base = base + contrast * 0.6 * np.exp(-d2 / (2 * r * r))
    base = base + 0.05 * rng.normal(size=shape)
    return np.clip(base / base.max(), 0, 1)


def write_png_set(
    folder: Path, n: int, seed: int, size: int = 64, smooth: float = 2.0, contrast: float = 1.0, bits: int = 8
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = tissue(rng, (size, size), smooth, contrast)
        arr = (img * 255).astype(np.uint8) if bits == 8 else (img * 4095).astype(np.uint16)
        p = folder / f"img_{i:03d}.png"
        sitk.WriteImage(sitk.GetImageFromArray(arr), str(p))
        out.append(p)
    return out


def write_nifti_set(
    folder: Path, n: int, seed: int, shape=(10, 24, 24), spacing=(2.0, 2.0, 2.0), smooth=1.5
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        arr = (tissue(rng, shape, smooth) * 255).astype(np.uint8)
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing(spacing[::-1])
        p = folder / f"vol_{i:03d}.nii.gz"
        sitk.WriteImage(img, str(p))
        out.append(p)
    return out
