"""The fast engine's extractor: pyradiomics' image handling, the engine's feature classes.

Loading, normalisation, resampling, mask checks, diagnostics, shape and the filtered image types
(Wavelet, LoG, ...) stay pyradiomics' own SimpleITK/PyWavelets calls, so every image a feature
class sees is bit-identical to pyradiomics'. What the engine replaces is the feature stage:
``computeFeatures`` bins each image once, builds every texture matrix with compiled kernels
(:mod:`frd.engine.matrices`) and evaluates pyradiomics' formulas (:mod:`frd.engine.features`).
"""

from __future__ import annotations

import collections
import logging
from typing import Any

import numpy as np
import SimpleITK as sitk

from . import features as F
from . import matrices as M
from ._jit import EngineUnavailableError
from .discretize import Binned, discretize

log = logging.getLogger(__name__)

#: Feature classes the engine computes itself; shape classes stay pyradiomics' (once per image, compiled already).
TEXTURE_CLASSES = ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")

#: Settings whose effect the engine does not reproduce: such parameter files stay on the pyradiomics engine.
_UNSUPPORTED_SETTINGS = ("weightingNorm", "voxelBased", "resegmentRange")


def check_supported(params: dict[str, Any]) -> None:
    """Raise :class:`EngineUnavailableError` for parameters the fast engine cannot reproduce exactly."""
    setting = params.get("setting") or {}
    bad = [k for k in _UNSUPPORTED_SETTINGS if setting.get(k) is not None]
    if setting.get("symmetricalGLCM", True) is not True:
        bad.append("symmetricalGLCM")
    if bad:
        raise EngineUnavailableError(
            f"the fast engine does not support the setting(s) {', '.join(bad)}; use --engine pyradiomics"
        )


def _feature_names(cls_name: str, requested: list[str] | None) -> list[str]:
    """The feature names pyradiomics would compute, in its order (all non-deprecated ones when none requested)."""
    from radiomics import getFeatureClasses

    known = getFeatureClasses()[cls_name].getFeatureNames()  # name -> deprecated, in pyradiomics' order
    if not requested:
        return [n for n, deprecated in known.items() if not deprecated]
    missing = [n for n in requested if n not in known]
    if missing:
        raise LookupError(f"Feature not found: {missing[0]}")
    # A deprecated feature named explicitly raises DeprecationWarning in pyradiomics and is left out.
    return [n for n in requested if not known[n]]


def _as3d(arr: np.ndarray) -> np.ndarray:
    return arr[np.newaxis] if arr.ndim == 2 else arr


def _angles(shape: tuple[int, ...], settings: dict[str, Any], bidirectional: bool, distances: Any) -> np.ndarray:
    """pyradiomics' neighbour offsets for an image of ``shape``, padded to (Na, 3)."""
    from radiomics import cMatrices

    force2d = bool(settings.get("force2D", False))
    a = cMatrices.generate_angles(
        np.array(shape), np.array(distances), bidirectional, force2d, int(settings.get("force2Ddimension", 0))
    )
    a = np.asarray(a, dtype=np.int64)
    if a.shape[1] == 2:
        a = np.concatenate([np.zeros((a.shape[0], 1), dtype=np.int64), a], 1)
    return np.ascontiguousarray(a)


def compute_texture(
    image: sitk.Image, mask: sitk.Image, image_type: str, enabled: dict[str, list[str] | None], settings: dict[str, Any]
) -> collections.OrderedDict[str, float]:
    """Every enabled non-shape feature of one (cropped) image, keyed ``<imageType>_<class>_<feature>``."""
    out: collections.OrderedDict[str, float] = collections.OrderedDict()
    arr = sitk.GetArrayFromImage(image)
    roi = sitk.GetArrayFromImage(mask) == settings.get("label", 1)
    binned: Binned | None = None
    mask3 = img3 = None
    dist = settings.get("distances", [1])
    for cls_name, requested in enabled.items():
        if cls_name.startswith("shape"):
            continue
        if cls_name not in TEXTURE_CLASSES:
            raise EngineUnavailableError(f"the fast engine has no feature class {cls_name!r}; use --engine pyradiomics")
        names = _feature_names(cls_name, requested)
        if binned is None:
            binned = discretize(arr, roi, settings)
            img3 = np.ascontiguousarray(_as3d(binned.image))
            mask3 = np.ascontiguousarray(_as3d(roi).astype(np.uint8))
        assert img3 is not None and mask3 is not None
        absent = np.setdiff1d(np.arange(1, binned.ng + 1), binned.levels) - 1
        if cls_name == "firstorder":
            values = F.firstorder_features(
                arr[roi].astype(float),
                binned.image[roi],
                image.GetSpacing(),
                settings.get("voxelArrayShift", 0),
                names,
            )
        elif cls_name == "glcm":
            counts = M.glcm(img3, mask3, _angles(arr.shape, settings, False, dist), binned.ng)
            counts = np.delete(np.delete(counts, absent, 0), absent, 1)
            values = F.glcm_features(F.glcm_normalise(counts), binned.levels, binned.ng, names)
        elif cls_name == "glrlm":
            counts = M.glrlm(img3, mask3, _angles(arr.shape, settings, False, [1]), binned.ng, int(max(arr.shape)))
            values = F.glrlm_features(np.delete(counts, absent, 0), binned.levels, names)
        elif cls_name == "glszm":
            counts = M.glszm(img3, mask3, _angles(arr.shape, settings, True, [1]), binned.ng)
            values = F.glszm_features(np.delete(counts, absent, 0), binned.levels, names)
        elif cls_name == "gldm":
            a = _angles(arr.shape, settings, True, dist)
            counts = M.gldm(img3, mask3, a, binned.ng, int(settings.get("gldm_a", 0)))
            values = F.gldm_features(np.delete(counts, absent, 0), binned.levels, names)
        else:  # ngtdm
            table = M.ngtdm(img3, mask3, _angles(arr.shape, settings, True, dist), binned.ng)
            values = F.ngtdm_features(table, names)
        for name, value in values.items():
            out[f"{image_type}_{cls_name}_{name}"] = value
    return out


_EXTRACTOR_CLASS: type | None = None


def extractor_class() -> type:
    """pyradiomics' ``RadiomicsFeatureExtractor`` with the feature stage replaced by the engine's."""
    global _EXTRACTOR_CLASS
    if _EXTRACTOR_CLASS is None:
        from radiomics.featureextractor import RadiomicsFeatureExtractor

        class FastExtractor(RadiomicsFeatureExtractor):
            def computeFeatures(self, image, mask, imageTypeName, **kwargs):  # noqa: N802 - pyradiomics' name
                return compute_texture(image, mask, imageTypeName, self.enabledFeatures, kwargs)

        _EXTRACTOR_CLASS = FastExtractor
    return _EXTRACTOR_CLASS


def make_extractor(params: dict[str, Any]) -> Any:
    """A fast extractor for pyradiomics ``params`` (the dict of a parameter file)."""
    check_supported(params)
    return extractor_class()(params)
