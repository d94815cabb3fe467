"""The fast engine's shape2D PCA axes carry pyradiomics' round-off, digit for digit.

v0 min-maxes each column over both sets: an Elongation of 1 ± round-off (full masks on square
images of two sizes) becomes full-range values, so those digits are v0's number. Computed exactly
(Elongation exactly 1), v0's FRD differed from frd-score by up to 5 % on generated sets.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import shape2D

from frd.engine.shape import shape2d_features

NAMES = ["MajorAxisLength", "MinorAxisLength", "Elongation"]


def _pyradiomics(roi: np.ndarray, spacing: tuple[float, float]) -> dict[str, float]:
    img = sitk.GetImageFromArray(roi.astype(np.float32))
    img.SetSpacing(spacing)
    mask = sitk.GetImageFromArray(roi.astype(np.uint8))
    mask.SetSpacing(spacing)
    cls = shape2D.RadiomicsShape2D(img, mask, label=1)
    for name in NAMES:
        cls.enableFeatureByName(name)
    return {k: float(v) for k, v in cls.execute().items()}


@pytest.mark.parametrize("size", [(24, 24), (32, 32), (40, 48), (17, 17)])
@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.7, 0.7)])
def test_full_mask_axes_are_pyradiomics_bit_for_bit(size, spacing):
    roi = np.ones(size, bool)
    ours = shape2d_features(roi, spacing, NAMES)
    assert ours == _pyradiomics(roi, spacing)
    # full ROIs come from a cache keyed by size and spacing: a second image gets the same digits
    assert shape2d_features(np.ones(size, bool), spacing, NAMES) == ours


def test_ragged_roi_axes_are_pyradiomics_bit_for_bit():
    rng = np.random.default_rng(3)
    roi = rng.random((30, 26)) < 0.6
    roi[0, :] = roi[-1, :] = roi[:, 0] = roi[:, -1] = True  # the bounding box is the array
    assert shape2d_features(roi, (1.0, 1.0), NAMES) == _pyradiomics(roi, (1.0, 1.0))


def test_square_masks_of_two_sizes_are_not_exactly_one():
    # What made the difference: pyradiomics' Elongation of a full square is 1 only up to round-off.
    values = {_pyradiomics(np.ones((n, n), bool), (1.0, 1.0))["Elongation"] for n in (24, 32)}
    assert values != {1.0}
