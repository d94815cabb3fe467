"""The fast GLCM step gives pyradiomics' own GLCM features, and is used only while frd extracts."""

from __future__ import annotations

import numpy as np
import pytest
import radiomics
import SimpleITK as sitk
from radiomics.glcm import RadiomicsGLCM

from frd._fastglcm import _fast_class, fast_glcm

from datagen import tissue


@pytest.mark.parametrize("shape, bin_width", [((64, 64), 5), ((1, 48, 40), 2), ((8, 20, 20), 10)])
def test_fast_glcm_equals_pyradiomics(shape, bin_width):
    rng = np.random.default_rng(sum(shape))
    img = sitk.GetImageFromArray((tissue(rng, shape) * 255).astype(np.float32))
    mask = sitk.GetImageFromArray(np.ones(shape, np.uint8))
    kwargs = {"binWidth": bin_width, "force2D": len(shape) == 3 and shape[0] == 1}
    slow, fast = RadiomicsGLCM(img, mask, **kwargs), _fast_class()(img, mask, **kwargs)
    slow.enableAllFeatures()
    fast.enableAllFeatures()
    a, b = slow.execute(), fast.execute()
    assert a.keys() == b.keys() and len(a) == 24
    for k in a:
        assert float(b[k]) == pytest.approx(float(a[k]), rel=1e-12, abs=1e-300), k


def test_swap_is_scoped():
    table = radiomics.getFeatureClasses()
    assert table["glcm"] is RadiomicsGLCM
    with fast_glcm():
        assert table["glcm"] is _fast_class()
    assert table["glcm"] is RadiomicsGLCM
