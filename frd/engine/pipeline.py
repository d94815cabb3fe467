"""The fast engine's extractor: pyradiomics' image handling, the engine's feature stage.

:func:`execute` follows pyradiomics' ``RadiomicsFeatureExtractor.execute`` step by step: loading,
normalisation, resampling, mask checks, shape and the filtered image types (Wavelet, LoG, ...)
are pyradiomics' own SimpleITK/PyWavelets calls, so every image a feature class sees is
bit-identical to pyradiomics'. :func:`compute_texture` replaces pyradiomics' feature classes: it
bins each image once, builds the texture matrices with compiled kernels (:mod:`.matrices`) and
evaluates pyradiomics' formulas (:mod:`.features`).
"""

from __future__ import annotations

import collections
import functools
import logging
from typing import Any

import numpy as np
import SimpleITK as sitk

from .._extras import install_command
from ..engines import fast_refusal
from . import features as F
from . import matrices as M
from ._jit import EngineUnavailableError, available
from .discretize import Binned, discretize
from .shape import shape2d_features

log = logging.getLogger(__name__)

#: Feature classes the engine computes itself; shape classes stay pyradiomics' (once per image, compiled already).
TEXTURE_CLASSES = ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")


def check_supported(params: dict[str, Any]) -> None:
    """Raise :class:`EngineUnavailableError` for parameters the fast engine cannot reproduce exactly."""
    why = fast_refusal([params])
    if why:
        raise EngineUnavailableError(f"the fast engine {why}; use --engine pyradiomics")


def ensure_usable(*params: dict[str, Any], engine: str = "fast") -> None:
    """Raise :class:`EngineUnavailableError` unless numba (and torch, for ``engine="torch"``) is installed
    and every ``params`` is supported.

    Called before any image is extracted, so that a worker never meets it per image (where
    ``--skip-invalid`` would skip every image instead of stopping).
    """
    if not available():
        raise EngineUnavailableError(f"the fast radiomics engine needs numba: {install_command('fast')}")
    if engine == "torch":
        from .torch_backend import _torch

        _torch()
    for p in params:
        check_supported(p)


@functools.cache
def _known_features(cls_name: str) -> dict[str, bool]:
    from radiomics import getFeatureClasses

    return getFeatureClasses()[cls_name].getFeatureNames()  # name -> deprecated, in pyradiomics' order


def _feature_names(cls_name: str, requested: list[str] | None) -> list[str]:
    """The feature names pyradiomics would compute, in its order (all non-deprecated ones when none requested)."""
    known = _known_features(cls_name)
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
    force2d = bool(settings.get("force2D", False))
    dim = int(settings.get("force2Ddimension", 0))
    return _angles_cached(tuple(shape), bidirectional, force2d, dim, tuple(int(d) for d in distances))


@functools.lru_cache(maxsize=256)
def _angles_cached(
    shape: tuple[int, ...], bidirectional: bool, force2d: bool, dim: int, distances: tuple[int, ...]
) -> np.ndarray:
    from radiomics import cMatrices

    a = cMatrices.generate_angles(np.array(shape), np.array(distances), bidirectional, force2d, dim)
    a = np.asarray(a, dtype=np.int64)
    if a.shape[1] == 2:
        a = np.concatenate([np.zeros((a.shape[0], 1), dtype=np.int64), a], 1)
    a = np.ascontiguousarray(a)
    a.flags.writeable = False  # shared by every call with this shape
    return a


def symmetric_angle_index(one_way: np.ndarray, both_ways: np.ndarray) -> np.ndarray:
    """For each angle of ``both_ways``, the index of the ``one_way`` angle it equals or opposes."""
    index = np.empty(len(both_ways), dtype=np.int64)
    for b, angle in enumerate(both_ways):
        hits = np.flatnonzero(np.all(one_way == angle, 1) | np.all(one_way == -angle, 1))
        index[b] = hits[0]
    return index


def _symmetric_index_cached(shape: tuple[int, ...], settings: dict[str, Any], dist: Any) -> np.ndarray:
    force2d = bool(settings.get("force2D", False))
    dim = int(settings.get("force2Ddimension", 0))
    return _symmetric_index(tuple(shape), force2d, dim, tuple(int(d) for d in dist))


@functools.lru_cache(maxsize=256)
def _symmetric_index(shape: tuple[int, ...], force2d: bool, dim: int, dist: tuple[int, ...]) -> np.ndarray:
    index = symmetric_angle_index(
        _angles_cached(shape, False, force2d, dim, dist), _angles_cached(shape, True, force2d, dim, dist)
    )
    index.flags.writeable = False
    return index


def _neighbourhood(
    img3: np.ndarray,
    mask3: np.ndarray,
    shape: tuple[int, ...],
    ng: int,
    enabled: dict[str, list[str] | None],
    settings: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dist = settings.get("distances", [1])
    both = _angles(shape, settings, True, dist)
    one = _angles(shape, settings, False, dist)
    return M.neighbourhood(
        img3,
        mask3,
        both,
        _symmetric_index_cached(shape, settings, dist),
        ng,
        len(one),
        int(settings.get("gldm_a", 0)),
        "glcm" in enabled,
        "gldm" in enabled,
        "ngtdm" in enabled,
    )


def compute_texture(
    arr: np.ndarray,
    roi: np.ndarray,
    spacing: tuple[float, ...],
    image_type: str,
    enabled: dict[str, list[str] | None],
    settings: dict[str, Any],
) -> collections.OrderedDict[str, float]:
    """Every enabled non-shape feature of one image cropped to its ROI (boolean ``roi``), keyed
    ``<imageType>_<class>_<feature>``; ``spacing`` is the image's (x, y[, z]) voxel size."""
    out: collections.OrderedDict[str, float] = collections.OrderedDict()
    binned: Binned | None = None
    mask3 = img3 = None
    near: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # GLCM, GLDM, NGTDM of one pass
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
        present = binned.levels - 1  # pyradiomics drops the rows/columns of levels absent from the ROI
        if near is None and cls_name in ("glcm", "gldm", "ngtdm"):
            near = _neighbourhood(img3, mask3, arr.shape, binned.ng, enabled, settings)
        if cls_name == "firstorder":
            values = F.firstorder_features(
                binned.values,
                binned.counts,
                spacing,
                settings.get("voxelArrayShift", 0),
                names,
            )
        elif cls_name == "glcm":
            assert near is not None
            values = F.glcm_features(near[0], present, binned.levels, binned.ng, names)
        elif cls_name == "glrlm":
            # only the run-length columns up to the longest run: the others are zero and add nothing
            counts = M.glrlm(img3, mask3, _angles(arr.shape, settings, False, [1]), binned.ng, 0)
            values = F.glrlm_features(counts[present], binned.levels, names)
        elif cls_name == "glszm":
            counts, sizes = M.glszm(img3, mask3, _angles(arr.shape, settings, True, [1]), binned.ng)
            values = F.glszm_features(counts[present], sizes, binned.levels, names)
        elif cls_name == "gldm":
            assert near is not None
            values = F.gldm_features(near[1][present], binned.levels, names)
        else:  # ngtdm
            assert near is not None
            values = F.ngtdm_features(near[2], names)
        for name, value in values.items():
            out[f"{image_type}_{cls_name}_{name}"] = value
    return out


def _image_diagnostics(out: dict[str, Any], image: sitk.Image, prefix: str) -> None:
    arr = sitk.GetArrayViewFromImage(image).astype("float")
    out[f"diagnostics_Image-{prefix}_Mean"] = np.mean(arr)
    out[f"diagnostics_Image-{prefix}_Minimum"] = np.min(arr)
    out[f"diagnostics_Image-{prefix}_Maximum"] = np.max(arr)


def _mask_diagnostics(out: dict[str, Any], image: sitk.Image | None, mask: sitk.Image, label: int, prefix: str) -> None:
    roi = sitk.GetArrayViewFromImage(mask) == label
    out[f"diagnostics_Mask-{prefix}_VoxelNum"] = int(np.count_nonzero(roi))
    ccif = sitk.ConnectedComponentImageFilter()
    ccif.FullyConnectedOn()
    ccif.Execute(mask == label)
    out[f"diagnostics_Mask-{prefix}_VolumeNum"] = ccif.GetObjectCount()
    if image is not None:
        values = sitk.GetArrayViewFromImage(image)[roi].astype("float")
        out[f"diagnostics_Mask-{prefix}_Mean"] = np.mean(values)
        out[f"diagnostics_Mask-{prefix}_Minimum"] = np.min(values)
        out[f"diagnostics_Mask-{prefix}_Maximum"] = np.max(values)


def _same_grid(image: sitk.Image, mask: sitk.Image) -> bool:
    """Whether ``mask`` lies on exactly ``image``'s voxel grid (so no filter could object to the pair)."""
    return (
        image.GetSize() == mask.GetSize()
        and image.GetSpacing() == mask.GetSpacing()
        and image.GetOrigin() == mask.GetOrigin()
        and image.GetDirection() == mask.GetDirection()
        and image.GetNumberOfComponentsPerPixel() == 1
    )


def check_mask(image: sitk.Image, mask: sitk.Image, **s: Any) -> tuple[np.ndarray, sitk.Image | None]:
    """pyradiomics' ``imageoperations.checkMask``: the ROI's bounding box (ITK order: x lo, x hi, y lo, ...)
    and checks of its label, dimensionality and size.

    Where the mask lies on the image's grid exactly, the bounding box and the voxel count come from
    the mask array (what ``LabelStatisticsImageFilter`` computes, without its pass over the image).
    Otherwise the filter runs as in pyradiomics, and a geometry mismatch (``correctMask`` territory)
    goes to pyradiomics' own function, errors and all.
    """
    label = int(s.get("label", 1))
    if _same_grid(image, mask):
        roi = sitk.GetArrayViewFromImage(mask) == label
        if not roi.any():
            raise ValueError(f"Label ({label:g}) not present in mask")
        bounds = []
        for axis in reversed(range(roi.ndim)):  # ITK's x first: the last numpy axis
            hit = np.flatnonzero(roi.any(axis=tuple(a for a in range(roi.ndim) if a != axis)))
            bounds += [int(hit[0]), int(hit[-1])]
        return _checked_box(np.array(bounds), int(np.count_nonzero(roi)), label, s), None
    from radiomics import imageoperations as ops

    lsif = sitk.LabelStatisticsImageFilter()
    lsif.SetUseHistograms(False)  # 90 % of the filter's time, and the bounding box does not need them
    try:
        lsif.Execute(image, mask)
    except RuntimeError:
        return ops.checkMask(image, mask, **s)
    if label not in lsif.GetLabels():
        raise ValueError(f"Label ({label:g}) not present in mask")
    return _checked_box(np.array(lsif.GetBoundingBox(label)), lsif.GetCount(label), label, s), None


def _checked_box(bounding_box: np.ndarray, count: int, label: int, s: dict[str, Any]) -> np.ndarray:
    """pyradiomics' ``checkMask`` tests of an ROI's bounding box and voxel count, in its words."""
    ndims = np.sum((bounding_box[1::2] - bounding_box[0::2] + 1) > 1)
    min_dims = s.get("minimumROIDimensions", 2)
    if ndims == 0:
        raise ValueError("mask only contains 1 segmented voxel! Cannot extract features for a single voxel.")
    if ndims < min_dims:
        raise ValueError(f"mask has too few dimensions (number of dimensions {ndims:d}, minimum required {min_dims:d})")
    min_size = s.get("minimumROISize")
    if min_size is not None and count <= min_size:
        raise ValueError(f"Size of the ROI is too small (minimum size: {min_size:g}, ROI size: {count:g}")
    return bounding_box


#: Mask pixel types whose cast to UInt32 keeps every value, so numpy can do it.
_UNSIGNED = (sitk.sitkUInt8, sitk.sitkUInt16, sitk.sitkUInt32)


def get_mask(mask: sitk.Image, **s: Any) -> sitk.Image:
    """pyradiomics' ``imageoperations.getMask`` for scalar masks: the mask cast to UInt32, the label checked
    without sorting every voxel (unsigned masks are cast by numpy, a third of ``sitk.Cast``'s time)."""
    from radiomics import imageoperations as ops

    if "vector" in mask.GetPixelIDTypeAsString().lower():
        return ops.getMask(mask, **s)
    if mask.GetPixelID() == sitk.sitkUInt32:
        cast = mask
    elif mask.GetPixelID() in _UNSIGNED:
        cast = sitk.GetImageFromArray(sitk.GetArrayViewFromImage(mask).astype(np.uint32))
        cast.CopyInformation(mask)
    else:
        cast = sitk.Cast(mask, sitk.sitkUInt32)
    arr = sitk.GetArrayViewFromImage(cast)
    label = s.get("label", 1)
    if not (arr == label).any():  # pyradiomics' own function words both errors
        return ops.getMask(mask, **s)
    return cast


def compute_shape(
    extractor: Any, image: sitk.Image, mask: sitk.Image, bounding_box: np.ndarray, roi: np.ndarray, s: dict[str, Any]
) -> collections.OrderedDict[str, Any]:
    """pyradiomics' ``computeShape``; for 2D images the shape2D class is :func:`.shape.shape2d_features`."""
    enabled = extractor.enabledFeatures
    shapes = {c for c in enabled if c.startswith("shape")}
    if mask.GetDimension() != 2 or not shapes <= {"shape", "shape2D"} or roi.ndim != 2:
        return extractor.computeShape(image, mask, bounding_box, **s)
    out: collections.OrderedDict[str, Any] = collections.OrderedDict()
    if "shape2D" in shapes:  # 3D "shape" of a 2D image: pyradiomics warns and computes nothing
        for name, value in shape2d_features(
            roi, image.GetSpacing(), _feature_names("shape2D", enabled["shape2D"])
        ).items():
            out[f"original_shape2D_{name}"] = value
    return out


#: One filtered image's texture work: (array cropped to the ROI box, boolean ROI, spacing, image type name,
#: the image type's settings, the SimpleITK image the array views, kept alive with it).
TextureJob = tuple[np.ndarray, np.ndarray, tuple[float, ...], str, dict[str, Any], sitk.Image]


def execute(
    extractor: Any, image: sitk.Image, mask: sitk.Image, diagnostics: bool = True
) -> collections.OrderedDict[str, Any]:
    """pyradiomics' ``RadiomicsFeatureExtractor.execute`` (segment-based) with the engine's feature stage.

    The steps and their SimpleITK calls are pyradiomics' own, in its order. Of the diagnostics only the
    numeric ones (intensity mean/min/max, ROI voxel and volume counts) are produced, and only with
    ``diagnostics``: the hashes, versions and settings pyradiomics adds as text cost a third of the
    preprocessing time and carry no number.
    """
    vector, jobs = prepare(extractor, image, mask, diagnostics)
    for arr, roi, spacing, type_name, kwargs, _ in jobs:
        vector.update(compute_texture(arr, roi, spacing, type_name, extractor.enabledFeatures, kwargs))
    return vector


def prepare(
    extractor: Any, image: sitk.Image, mask: sitk.Image, diagnostics: bool = True
) -> tuple[collections.OrderedDict[str, Any], list[TextureJob]]:
    """The steps of :func:`execute` up to the texture classes: diagnostics and shape features so far,
    and the filtered images whose texture features follow, in pyradiomics' order."""
    from radiomics import imageoperations as ops

    s = extractor.settings.copy()
    label = s.get("label", 1)
    if s.get("geometryTolerance") is not None:
        extractor._setTolerance()
    wanted = diagnostics and s.get("additionalInfo")
    diag: collections.OrderedDict[str, Any] | None = collections.OrderedDict() if wanted else None

    mask = get_mask(mask, **s)
    if diag is not None:
        _image_diagnostics(diag, image, "original")
        _mask_diagnostics(diag, None, mask, label, "original")
    if s.get("normalize", False):
        image = ops.normalizeImage(image, **s)
    if s.get("interpolator") is not None and s.get("resampledPixelSpacing") is not None:
        image, mask = ops.resampleImage(image, mask, **s)
        if diag is not None:
            _image_diagnostics(diag, image, "interpolated")
            _mask_diagnostics(diag, image, mask, label, "interpolated")
    elif s.get("preCrop", False):
        bb, corrected = check_mask(image, mask, **s)
        if corrected is not None:
            mask = corrected
        if bb is None:
            raise ValueError("Mask checks failed during pre-crop")
        image, mask = ops.cropToTumorMask(image, mask, bb, **s)

    bounding_box, corrected = check_mask(image, mask, **s)
    if corrected is not None:
        if diag is not None:
            _mask_diagnostics(diag, image, corrected, label, "corrected")
        mask = corrected

    vector: collections.OrderedDict[str, Any] = collections.OrderedDict()
    if diag is not None:
        vector.update(diag)
    # pyradiomics crops each filtered image to the ROI's bounding box (cropToTumorMask, no padding):
    # the same region as an array slice, z/y/x order reversed from ITK's x/y/z bounding box.
    box = tuple(slice(int(lo), int(hi) + 1) for lo, hi in zip(bounding_box[0::2], bounding_box[1::2], strict=True))
    box = box[::-1]
    roi = sitk.GetArrayViewFromImage(mask)[box] == label
    vector.update(compute_shape(extractor, image, mask, bounding_box, roi, s))
    jobs: list[TextureJob] = []
    for image_type, custom in extractor.enabledImagetypes.items():
        args = s.copy()
        args.update(custom)
        for filtered, type_name, kwargs in getattr(ops, f"get{image_type}Image")(image, mask, **args):
            arr = sitk.GetArrayViewFromImage(filtered)[box]
            jobs.append((arr, roi, filtered.GetSpacing(), type_name, kwargs, filtered))
    return vector, jobs


class FastExtractor:
    """A pyradiomics extractor (its parameter parsing and defaults) whose ``execute`` runs the engine."""

    def __init__(self, params: dict[str, Any], diagnostics: bool = True) -> None:
        from radiomics.featureextractor import RadiomicsFeatureExtractor

        ensure_usable(params)
        self.pyradiomics = RadiomicsFeatureExtractor(params)
        self.diagnostics = diagnostics

    def execute(self, image: sitk.Image, mask: sitk.Image) -> collections.OrderedDict[str, Any]:
        """Features of ``image`` inside ``mask``, keyed as pyradiomics keys them."""
        return execute(self.pyradiomics, image, mask, self.diagnostics)


class TorchExtractor(FastExtractor):
    """The fast engine with its texture matrices counted by torch on ``device`` (:mod:`.torch_backend`),
    batched over every filtered image of a call: :meth:`execute_batch` takes many images at once."""

    def __init__(self, params: dict[str, Any], diagnostics: bool = True, device: Any = None) -> None:
        from . import torch_backend

        super().__init__(params, diagnostics)
        self.device = torch_backend.default_device() if device is None else device

    def execute(self, image: sitk.Image, mask: sitk.Image) -> collections.OrderedDict[str, Any]:
        """Features of ``image`` inside ``mask`` (its filtered images form one device batch)."""
        return self.execute_batch([(image, mask)])[0]

    def execute_batch(self, pairs: list[tuple[sitk.Image, sitk.Image]]) -> list[collections.OrderedDict[str, Any]]:
        """Features of every (image, mask) pair; the texture matrices of all their filtered images that
        share settings and dimensionality are counted in one batch on the device."""
        from .torch_backend import compute_texture_batch

        prepared = [prepare(self.pyradiomics, image, mask, self.diagnostics) for image, mask in pairs]
        groups: dict[tuple[str, int], list[tuple[int, int]]] = collections.defaultdict(list)
        for p, (_, jobs) in enumerate(prepared):
            for j, job in enumerate(jobs):
                groups[(repr(sorted(job[4].items())), job[0].ndim)].append((p, j))
        textures: dict[tuple[int, int], collections.OrderedDict[str, float]] = {}
        for members in groups.values():
            batch = [prepared[p][1][j] for p, j in members]
            got = compute_texture_batch(
                [job[:4] for job in batch], self.pyradiomics.enabledFeatures, batch[0][4], self.device
            )
            textures.update(zip(members, got, strict=True))
        out = []
        for p, (vector, jobs) in enumerate(prepared):
            for j in range(len(jobs)):
                vector.update(textures[(p, j)])
            out.append(vector)
        return out


def make_extractor(params: dict[str, Any], diagnostics: bool = True, engine: str = "fast") -> FastExtractor:
    """An extractor of ``engine`` (``fast``: numba; ``torch``: matrices on a torch device) for pyradiomics
    ``params`` (the dict of a parameter file); ``diagnostics=False`` leaves out the ``diagnostics_*``
    entries (frd keeps them only where a preset uses them, v1)."""
    if engine == "torch":
        return TorchExtractor(params, diagnostics)
    return FastExtractor(params, diagnostics)
