"""frd's fast radiomics engine against pyradiomics-bhklab itself, on generated images.

Three levels: the texture matrices equal pyradiomics' C matrices exactly; every feature of every
preset agrees within 1e-6 relative (values at round-off level within 1e-9 of the intensity scale);
and ``engine="fast"`` runs through the API and the CLI with its own cache key.
"""

from __future__ import annotations

import subprocess
import sys
import zlib

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frd.engine import EngineUnavailableError
from frd.engine import matrices as M
from frd.engine.exactness import REL_TOL, ROUNDOFF, compare, intensity_scale
from frd.engine.pipeline import make_extractor, symmetric_angle_index
from frd.settings import resolve_settings

# --------------------------------------------------------------------------- generated images


def _texture(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """Grey images in [0, 255] of a few kinds that exercise different matrix shapes."""
    if kind == "noise":
        return rng.random(shape) * 255
    if kind == "smooth":
        grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
        return 127 + 100 * np.sin(grids[-1] / 5.0) * np.cos(grids[-2] / 7.0) + rng.normal(0, 5, shape)
    if kind == "blocks":  # piecewise constant: long runs, large zones, many empty grey levels
        coarse = rng.integers(0, 6, [max(1, n // 6) for n in shape]) * 40.0
        out = coarse
        for axis, n in enumerate(shape):
            out = np.repeat(out, 6, axis=axis)[(slice(None),) * axis + (slice(0, n),)]
        return out
    if kind == "flat":
        return np.full(shape, 77.0)
    raise ValueError(kind)


def _mask(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "full":
        return np.ones(shape, np.uint8)
    if kind == "blob":
        grids = np.meshgrid(*[np.arange(n) - n / 2 for n in shape], indexing="ij")
        r = np.sqrt(sum(g**2 for g in grids))
        return (r < min(shape) / 3 + rng.normal(0, 1.5, shape)).astype(np.uint8)
    if kind == "two":  # two disconnected regions
        m = np.zeros(shape, np.uint8)
        m[(slice(2, 9),) * len(shape)] = 1
        m[(slice(-9, -3),) * len(shape)] = 1
        return m
    raise ValueError(kind)


def _pair(arr: np.ndarray, msk: np.ndarray, preset: str) -> tuple[sitk.Image, sitk.Image]:
    """Image and mask as frd hands them to pyradiomics for ``preset`` (v1: 2D as a (1, H, W) volume)."""
    s = resolve_settings(preset)
    if arr.ndim == 2 and s.expand_2d:
        arr, msk = arr[np.newaxis], msk[np.newaxis]
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    m = sitk.GetImageFromArray(msk)
    m.CopyInformation(img)
    return img, m


def _pyradiomics(params: dict, img: sitk.Image, msk: sitk.Image) -> dict[str, float]:
    import radiomics
    from radiomics import featureextractor

    radiomics.setVerbosity(60)
    out = featureextractor.RadiomicsFeatureExtractor(params).execute(img, msk)
    numeric = {}
    for k, v in out.items():
        try:
            numeric[k] = float(v)
        except (TypeError, ValueError):
            continue  # text diagnostics (versions, hashes, settings)
    return numeric


CASES_2D = [
    ("noise", "full", (40, 40)),
    ("smooth", "blob", (48, 40)),
    ("blocks", "two", (36, 36)),
    ("noise", "blob", (33, 47)),
]


def _check(preset: str, arr: np.ndarray, msk: np.ndarray, dim: int) -> float:
    s = resolve_settings(preset)
    img, m = _pair(arr, msk, preset)
    ref = _pyradiomics(s.params(dim), img, m)
    got = make_extractor(s.params(dim)).execute(img, m)
    assert list(got) == list(ref)  # the same numeric features, in pyradiomics' order
    report = compare(ref, {k: float(v) for k, v in got.items()}, intensity_scale(img))
    assert report.mismatches == [], report.mismatches[:5]
    assert len(got) >= 90
    return report.worst_rel


@pytest.mark.parametrize("preset", ["v1", "v0", "ccnet"])
@pytest.mark.parametrize("case", CASES_2D, ids=lambda c: "-".join(map(str, c)))
def test_every_feature_matches_pyradiomics_2d(preset: str, case: tuple) -> None:
    texture, mask, shape = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))  # str hash() is salted per process
    worst = _check(preset, _texture(rng, shape, texture), _mask(rng, shape, mask), 2)
    assert worst < REL_TOL


#: shape2D features of the marching squares (perimeter, surface, diameter): bit-identical to pyradiomics'.
_MESH_FEATURES = ("MeshSurface", "PixelSurface", "Perimeter", "PerimeterSurfaceRatio", "Sphericity", "MaximumDiameter")


def _shape_agrees(name: str, got: float, ref: float, major: float) -> bool:
    """Mesh features bit for bit; the PCA axes within 1e-9 relative (pyradiomics' float64 covariance vs
    integer moments). A collinear ROI (one pixel wide, two diagonal pixels) has a smaller eigenvalue of
    exactly 0, which the engine gives; pyradiomics gives round-off of the larger one, which the square
    root lifts to ~sqrt(eps) of the major axis (Elongation: of 1), so there both are compared in absolute
    terms at 1e-7 of that scale."""
    if got == ref or (np.isnan(got) and np.isnan(ref)):
        return True
    feature = name.split("_")[-1]
    if feature in _MESH_FEATURES:
        return False
    scale = {"MinorAxisLength": major, "Elongation": 1.0}.get(feature, 0.0)
    return abs(got - ref) <= 1e-9 * abs(ref) or (got == 0.0 and abs(ref) <= 1e-7 * scale)


def _shape_mask(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(n) - n / 2 for n in shape], indexing="ij")
    r = np.sqrt(sum(g**2 for g in grids))
    if kind == "row":
        msk = np.zeros(shape, np.uint8)
        msk[5, 3:30] = 1  # one pixel high: a zero eigenvalue
    elif kind == "column":
        msk = np.zeros(shape, np.uint8)
        msk[2:31, 7] = 1
    elif kind == "ring":
        msk = ((r > 6) & (r < 15)).astype(np.uint8)
    elif kind == "holes":  # a blob with scattered holes and a few islands
        msk = ((r < 14) & (rng.random(shape) > 0.15)).astype(np.uint8)
        msk[rng.random(shape) > 0.97] = 1
    elif kind == "pixel-pair":
        msk = np.zeros(shape, np.uint8)
        msk[4, 4] = msk[5, 5] = 1
    else:
        msk = _mask(rng, shape, kind)
    return msk


@pytest.mark.parametrize("spacing", [(0.7, 1.3), (0.1, 0.1)])
@pytest.mark.parametrize("mask_kind", ["blob", "two", "full", "row", "column", "ring", "holes", "pixel-pair"])
def test_shape2d_matches_pyradiomics(mask_kind: str, spacing: tuple[float, float]) -> None:
    """The engine's compiled shape2D against pyradiomics' shape2D class: the marching-squares features
    bit for bit, the PCA axes within round-off (one-pixel-high/wide ROIs, rings, holes, anisotropic pixels)."""
    rng = np.random.default_rng(11)
    shape = (37, 41)
    msk = _shape_mask(mask_kind, shape, rng)
    img = sitk.GetImageFromArray(_texture(rng, shape, "noise").astype(np.float32))
    img.SetSpacing(spacing)
    m = sitk.GetImageFromArray(msk)
    m.CopyInformation(img)
    params = resolve_settings("v0").params(2)
    ref = {k: v for k, v in _pyradiomics(params, img, m).items() if "_shape2D_" in k}
    got = {k: float(v) for k, v in make_extractor(params).execute(img, m).items() if "_shape2D_" in k}
    assert len(ref) == 9 and list(got) == list(ref)
    major = ref["original_shape2D_MajorAxisLength"]
    for k in ref:
        assert _shape_agrees(k, got[k], ref[k], major), (k, got[k], ref[k])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 30), st.integers(1, 30)),
    fill=st.floats(0.05, 1.0),
    spacing=st.tuples(st.sampled_from([1.0, 0.7, 1.3, 0.1, 2.5]), st.sampled_from([1.0, 0.7, 1.3, 0.1, 2.5])),
)
def test_shape2d_random_masks_match_pyradiomics_c_routine(seed, shape, fill, spacing) -> None:
    """Perimeter, surface and diameter of ragged random masks equal ``cShape.calculate_coefficients2D``'s
    (the diameter from the convex hull of the vertices, pyradiomics' from all pairs)."""
    from radiomics import cShape

    from frd.engine.shape import shape2d_features

    rng = np.random.default_rng(seed)
    roi = rng.random(shape) < fill
    roi[rng.integers(0, shape[0]), rng.integers(0, shape[1])] = True
    perimeter, surface, diameter = cShape.calculate_coefficients2D(np.pad(roi, 1), np.array(spacing[::-1]))
    got = shape2d_features(roi, spacing, ["Perimeter", "MeshSurface", "MaximumDiameter"])
    assert (got["Perimeter"], got["MeshSurface"], got["MaximumDiameter"]) == (perimeter, surface, diameter)


@pytest.mark.parametrize("preset", ["v0", pytest.param("v1", marks=pytest.mark.slow)])
def test_every_feature_matches_pyradiomics_3d(preset: str) -> None:
    rng = np.random.default_rng(7)
    shape = (14, 18, 16)
    arr = _texture(rng, shape, "smooth")
    img, m = sitk.GetImageFromArray(arr.astype(np.float32)), sitk.GetImageFromArray(_mask(rng, shape, "blob"))
    img.SetSpacing((2.0, 2.0, 2.0))  # v1 resamples to 2 mm: keep the volume small
    m.CopyInformation(img)
    s = resolve_settings(preset)
    ref = _pyradiomics(s.params(3), img, m)
    got = make_extractor(s.params(3)).execute(img, m)
    report = compare(ref, {k: float(v) for k, v in got.items()}, intensity_scale(img))
    assert report.mismatches == [], report.mismatches[:5]
    assert any("log-sigma" in k for k in got) == (preset == "v1")


@pytest.mark.parametrize(
    "setting",
    [
        {"binCount": 16},
        {"distances": [1, 2]},
        {"label": 2},
        {"normalize": True, "normalizeScale": 50, "resampledPixelSpacing": [1.5, 1.5], "interpolator": "sitkLinear"},
    ],
    ids=["binCount", "distances", "label", "resampled"],
)
def test_parameter_file_settings_match(setting: dict) -> None:
    """Settings a --params file can set, and other image types, give pyradiomics' numbers too."""
    rng = np.random.default_rng(9)
    base = resolve_settings("v0").params(2)
    params = {
        "imageType": {"Original": {}, "Square": {}, "Gradient": {}, "LoG": {"sigma": [1.0]}},
        "featureClass": base["featureClass"],
        "setting": base["setting"] | setting,
    }
    msk = _mask(rng, (40, 40), "blob") * int(setting.get("label", 1))
    img, m = _pair(_texture(rng, (40, 40), "smooth"), msk.astype(np.uint8), "v0")
    ref = _pyradiomics(params, img, m)
    got = {k: float(v) for k, v in make_extractor(params).execute(img, m).items()}
    assert list(got) == list(ref)
    assert any(k.startswith("square_") for k in got) and any(k.startswith("log-sigma") for k in got)
    report = compare(ref, got, intensity_scale(img))
    assert report.mismatches == [], report.mismatches[:5]


def test_corrected_mask_matches() -> None:
    """A mask on another grid (correctMask, as v0 sets it) is resampled by pyradiomics' own code path."""
    rng = np.random.default_rng(12)
    img, _ = _pair(_texture(rng, (40, 40), "smooth"), _mask(rng, (40, 40), "full"), "v0")
    m = sitk.GetImageFromArray(_mask(rng, (30, 30), "blob"))
    m.SetSpacing((1.25, 1.25))
    params = resolve_settings("v0").params(2)
    ref = _pyradiomics(params, img, m)
    got = {k: float(v) for k, v in make_extractor(params).execute(img, m).items()}
    assert "diagnostics_Mask-corrected_VoxelNum" in got
    assert list(got) == list(ref)
    assert compare(ref, got, intensity_scale(img)).mismatches == []


def test_flat_image_features_match() -> None:
    """A constant ROI: one grey level, degenerate matrices, pyradiomics' 0/1/NaN conventions."""
    rng = np.random.default_rng(3)
    arr, msk = _texture(rng, (24, 24), "flat"), _mask(rng, (24, 24), "blob")
    _check("v0", arr, msk, 2)
    # v1 normalises by the standard deviation: a flat image is NaN, and both engines refuse it alike
    params = resolve_settings("v1").params(2)
    img, m = _pair(arr, msk, "v1")
    with pytest.raises(ValueError, match="arange"):
        _pyradiomics(params, img, m)
    with pytest.raises(ValueError, match="arange"):
        make_extractor(params).execute(img, m)


@pytest.mark.parametrize("preset", ["v1", "v0", "ccnet"])
def test_frd_feature_vectors_match_across_engines(preset: str) -> None:
    """What frd keeps per image (names, order, diagnostics of v1 only) is the same with either engine."""
    from frd.extract import extract_image
    from frd.io import ImageRef

    rng = np.random.default_rng(11)
    ref = ImageRef(path="x.png", key="x", array=_texture(rng, (40, 44), "smooth").astype(np.float32))
    names_a, values_a, dim_a = extract_image(ref, None, resolve_settings(preset))
    names_b, values_b, dim_b = extract_image(ref, None, resolve_settings(preset, engine="fast"))
    assert names_b == names_a and dim_b == dim_a
    assert any(n.startswith("diagnostics_") for n in names_b) == (preset == "v1")
    report = compare(dict(zip(names_a, values_a, strict=True)), dict(zip(names_b, values_b, strict=True)), 255.0)
    assert report.mismatches == []


def test_missing_label_fails_as_in_pyradiomics() -> None:
    rng = np.random.default_rng(5)
    img, m = _pair(_texture(rng, (20, 20), "noise"), _mask(rng, (20, 20), "blob") * 2, "v0")
    params = resolve_settings("v0").params(2)
    with pytest.raises(ValueError) as ref:
        _pyradiomics(params, img, m)
    with pytest.raises(ValueError) as got:
        make_extractor(params).execute(img, m)
    assert str(got.value) == str(ref.value) and "Label (1) not present" in str(got.value)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.one_of(st.tuples(st.integers(1, 9), st.integers(1, 9)), st.tuples(*[st.integers(1, 5)] * 3)),
    fill=st.floats(0.0, 1.0),
    dtype=st.sampled_from(["uint8", "uint16", "uint32", "int16", "float32", "float64"]),
    label=st.sampled_from([1, 2]),
    min_dims=st.sampled_from([1, 2, 3]),
    min_size=st.sampled_from([None, 3]),
)
def test_mask_checks_equal_pyradiomics(seed, shape, fill, dtype, label, min_dims, min_size) -> None:
    """The engine's getMask/checkMask (numpy bounding box and count on the image's grid, UInt32 cast by
    numpy for unsigned masks) against pyradiomics' (LabelStatisticsImageFilter, sitk.Cast): the same mask
    image, the same bounding box, or the same error in the same words."""
    from radiomics import imageoperations as ops

    from frd.engine.pipeline import check_mask, get_mask

    rng = np.random.default_rng(seed)
    arr = (rng.random(shape) < fill) * rng.integers(1, 3, shape)
    image = sitk.GetImageFromArray(rng.random(shape).astype(np.float32))
    mask = sitk.GetImageFromArray(arr.astype(dtype))
    image.SetSpacing((0.5,) * len(shape))
    mask.CopyInformation(image)
    kw = {"label": label, "minimumROIDimensions": min_dims, "minimumROISize": min_size}

    def outcome(get, check):
        try:
            m = get(mask, **kw)
            return m.GetPixelIDValue(), sitk.GetArrayFromImage(m).tolist(), list(check(image, m, **kw)[0])
        except ValueError as exc:
            return str(exc)

    assert outcome(get_mask, check_mask) == outcome(ops.getMask, ops.checkMask)


@pytest.mark.parametrize("engine", ["fast", "pyradiomics"])
def test_resized_default_mask_equals_an_explicit_ones_mask(tmp_path, engine) -> None:
    """ccnet resizes image and mask; the default all-ones mask is made at the new size directly, which
    must give the features an explicit all-ones mask file gives (resized and thresholded)."""
    from frd.extract import extract_image
    from frd.io import ImageRef

    rng = np.random.default_rng(8)
    sitk.WriteImage(sitk.GetImageFromArray(_texture(rng, (50, 61), "smooth").astype(np.uint8)), str(tmp_path / "i.png"))
    sitk.WriteImage(sitk.GetImageFromArray(np.ones((50, 61), np.uint8)), str(tmp_path / "m.png"))
    image = ImageRef(path=str(tmp_path / "i.png"), key="i")
    settings = resolve_settings("ccnet", engine=engine)
    names, default, _ = extract_image(image, None, settings)
    names_explicit, explicit, _ = extract_image(image, ImageRef(path=str(tmp_path / "m.png"), key="i"), settings)
    assert names == names_explicit
    np.testing.assert_array_equal(default, explicit)


def test_diagnostics_can_be_left_out() -> None:
    rng = np.random.default_rng(6)
    img, m = _pair(_texture(rng, (20, 20), "noise"), _mask(rng, (20, 20), "full"), "v0")
    params = resolve_settings("v0").params(2)
    with_diag = make_extractor(params).execute(img, m)
    without = make_extractor(params, diagnostics=False).execute(img, m)
    assert any(k.startswith("diagnostics_") for k in with_diag)
    assert list(without) == [k for k in with_diag if not k.startswith("diagnostics_")]


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(3, 18), st.integers(3, 18)),
    levels=st.integers(1, 12),
    fill=st.floats(0.05, 1.0),
    bin_width=st.sampled_from([1, 3, 25]),
)
def test_random_small_images_match_pyradiomics(seed, shape, levels, fill, bin_width) -> None:
    """Tiny images, few grey levels, ragged masks: the degenerate matrices pyradiomics special-cases."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, levels, shape).astype(np.float64) * (255.0 / max(levels - 1, 1))
    msk = (rng.random(shape) < fill).astype(np.uint8)
    msk[shape[0] // 2, :] = 1  # at least one full row: an ROI pyradiomics accepts (>= 2 voxels)
    params = resolve_settings("v0").params(2)
    params = params | {"setting": params["setting"] | {"binWidth": bin_width}}
    img, m = _pair(arr, msk, "v0")
    ref = _pyradiomics(params, img, m)
    got = {k: float(v) for k, v in make_extractor(params).execute(img, m).items()}
    assert list(got) == list(ref)
    report = compare(ref, got, intensity_scale(img))
    assert report.mismatches == [], report.mismatches[:5]


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.one_of(st.tuples(st.integers(1, 12), st.integers(1, 12)), st.tuples(*[st.integers(1, 5)] * 3)),
    dtype=st.sampled_from(["float32", "float64", "int16"]),
    scale=st.sampled_from([1.0, 255.0, 4095.0, 1e-3]),
    binning=st.sampled_from([{"binWidth": 25}, {"binWidth": 3}, {"binWidth": 0.5}, {}, {"binCount": 16}]),
)
def test_discretize_equals_pyradiomics_bin_image(seed, shape, dtype, scale, binning) -> None:
    """The compiled binning (ROI range, digitize and counts in two passes) gives pyradiomics' ``binImage``
    inside the ROI, and the ROI's values as ``image[mask].astype(float)``."""
    from radiomics import imageoperations as ops

    from frd.engine.discretize import discretize

    rng = np.random.default_rng(seed)
    image = (rng.normal(0.3, 1, shape) * scale).astype(dtype)
    mask = rng.random(shape) < 0.7
    mask.flat[0] = True
    got = discretize(image, mask, binning)
    ref, _ = ops.binImage(image, mask, **binning)
    np.testing.assert_array_equal(got.image[mask], ref[mask])
    assert not got.image[~mask].any()
    np.testing.assert_array_equal(got.values, image[mask].astype(float))
    levels, counts = np.unique(ref[mask], return_counts=True)
    np.testing.assert_array_equal(got.levels, levels)
    np.testing.assert_array_equal(got.counts, counts)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 3000),
    kind=st.sampled_from(
        [
            "uint8",
            "wide-int",
            "negative-int",
            "float",
            "few-floats",
            "narrow-floats",
            "signed-floats",
            "nan",
            "float32",
            "float32-signed-zeros",
        ]
    ),
    pct=st.lists(st.floats(0, 100), min_size=1, max_size=6),
)
def test_compiled_percentiles_equal_numpy_bit_for_bit(seed, n, kind, pct) -> None:
    """firstorder's percentiles (counted for integer ROIs, radix-selected otherwise) are numpy's, bit for bit."""
    from frd.engine.features import _FIRSTORDER_Q, percentiles

    rng = np.random.default_rng(seed)
    x = {
        "uint8": lambda: rng.integers(0, 256, n),
        "wide-int": lambda: rng.integers(0, 2**31, n),  # too wide to count: numpy's partition
        "negative-int": lambda: rng.integers(-3000, 3000, n),
        "float": lambda: rng.normal(0, 1, n),
        "few-floats": lambda: rng.choice([0.5, 1.25, 7.0], n),
        "narrow-floats": lambda: 1.0 + rng.random(n) / 32,  # one radix bucket holds every value
        "signed-floats": lambda: rng.normal(0, 1e-3, n) * rng.choice([0.0, 1.0, 1e300], n),
        "nan": lambda: np.where(rng.random(n) < 0.01, np.nan, rng.random(n)),
        # float32 values (a resized or normalised float32 image) take the float32 radix key
        "float32": lambda: (rng.random(n) * 255).astype(np.float32),
        "float32-signed-zeros": lambda: (rng.normal(0, 1e3, n) * rng.choice([0.0, -0.0, 1.0], n)).astype(np.float32),
    }[kind]().astype(np.float64)
    for q in (np.asarray(pct), _FIRSTORDER_Q):
        np.testing.assert_array_equal(percentiles(x, q), np.percentile(x, q))


# --------------------------------------------------------------------------- matrices


def _angles(shape: tuple[int, ...], bidirectional: bool) -> np.ndarray:
    from radiomics import cMatrices

    a = np.asarray(cMatrices.generate_angles(np.array(shape), np.array([1]), bidirectional, False, 0), np.int64)
    return np.concatenate([np.zeros((len(a), 1), np.int64), a], 1) if a.shape[1] == 2 else a


@pytest.mark.parametrize("shape", [(23, 31), (7, 9, 11)])
def test_matrices_equal_pyradiomics_c_matrices(shape: tuple[int, ...]) -> None:
    from radiomics import cMatrices

    rng = np.random.default_rng(len(shape))
    ng = 6
    img = rng.integers(1, ng + 1, shape).astype(np.int32)
    # blocks of one level make runs and zones longer than one voxel
    img[tuple(slice(2, 6) for _ in shape)] = 3
    mask = (rng.random(shape) < 0.8).astype(bool)
    img3 = img[np.newaxis] if img.ndim == 2 else img
    m3 = (mask[np.newaxis] if mask.ndim == 2 else mask).astype(np.uint8)
    one = np.array([1])

    both, one_way = _angles(shape, True), _angles(shape, False)
    glcm, gldm, ngtdm = M.neighbourhood(
        img3, m3, both, symmetric_angle_index(one_way, both), ng, len(one_way), 0, True, True, True
    )
    ref_glcm, _ = cMatrices.calculate_glcm(img, mask, one, ng, False, 0)
    np.testing.assert_array_equal(glcm, ref_glcm[0] + ref_glcm[0].transpose(1, 0, 2))  # the symmetric GLCM

    nr = int(max(shape))
    ref_glrlm, _ = cMatrices.calculate_glrlm(img, mask, ng, nr, False, 0)
    np.testing.assert_array_equal(M.glrlm(img3, m3, _angles(shape, False), ng, nr), ref_glrlm[0])

    ref_glszm = cMatrices.calculate_glszm(img, mask, ng, int(mask.sum()), False, 0)[0]
    zones, sizes = M.glszm(img3, m3, _angles(shape, True), ng)
    dense = np.zeros_like(ref_glszm)
    dense[:, sizes.astype(int) - 1] = zones
    np.testing.assert_array_equal(dense, ref_glszm)
    assert set(sizes.astype(int) - 1) == set(np.flatnonzero(ref_glszm.any(0)))

    ref_gldm = cMatrices.calculate_gldm(img, mask, one, ng, 0, False, 0)
    np.testing.assert_array_equal(gldm, ref_gldm[0][:, : gldm.shape[1]])
    assert not ref_gldm[0][:, gldm.shape[1] :].any()

    ref_ngtdm = cMatrices.calculate_ngtdm(img, mask, one, ng, False, 0)
    np.testing.assert_array_equal(ngtdm, ref_ngtdm[0])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.one_of(
        st.tuples(st.integers(2, 19), st.integers(2, 19)),
        st.tuples(st.integers(2, 4), st.integers(2, 12), st.integers(2, 12)),
    ),
    ng=st.integers(1, 6),
    fill=st.floats(0.05, 1.0),
    force2d=st.booleans(),
    alpha=st.integers(0, 1),
)
def test_matrices_equal_pyradiomics_c_matrices_random(seed, shape, ng, fill, force2d, alpha) -> None:
    """The row-wise 2D kernels (GLRLM by rows, GLSZM by runs, the vectorised neighbour pass) and the
    3D/force2D paths count exactly what pyradiomics' C code counts, on ragged masks and blocky images."""
    from radiomics import cMatrices

    rng = np.random.default_rng(seed)
    force2d = force2d and len(shape) == 3
    img = rng.integers(1, ng + 1, shape).astype(np.int32)
    img[tuple(slice(0, 4) for _ in shape)] = 1  # long runs and a large zone
    mask = rng.random(shape) < fill
    mask.flat[rng.integers(0, mask.size)] = True
    img3 = img[np.newaxis] if img.ndim == 2 else img
    m3 = (mask[np.newaxis] if mask.ndim == 2 else mask).astype(np.uint8)

    def angles(bidirectional: bool) -> np.ndarray:
        a = cMatrices.generate_angles(np.array(shape), np.array([1]), bidirectional, force2d, 0)
        a = np.asarray(a, np.int64)
        return np.concatenate([np.zeros((len(a), 1), np.int64), a], 1) if a.shape[1] == 2 else a

    one = np.array([1])
    both, one_way = angles(True), angles(False)
    glcm, gldm, ngtdm = M.neighbourhood(
        img3, m3, both, symmetric_angle_index(one_way, both), ng, len(one_way), alpha, True, True, True
    )
    ref_glcm = cMatrices.calculate_glcm(img, mask, one, ng, force2d, 0)[0][0]
    np.testing.assert_array_equal(glcm, ref_glcm + ref_glcm.transpose(1, 0, 2))
    ref_gldm = cMatrices.calculate_gldm(img, mask, one, ng, alpha, force2d, 0)[0]
    np.testing.assert_array_equal(gldm, ref_gldm[:, : gldm.shape[1]])
    np.testing.assert_array_equal(ngtdm, cMatrices.calculate_ngtdm(img, mask, one, ng, force2d, 0)[0])
    nr = int(max(shape))
    ref_glrlm = cMatrices.calculate_glrlm(img, mask, ng, nr, force2d, 0)[0][0]
    np.testing.assert_array_equal(M.glrlm(img3, m3, one_way, ng, nr), ref_glrlm)
    trimmed = M.glrlm(img3, m3, one_way, ng, 0)  # nr <= 0: the columns up to the longest run only
    used = 1 + max(np.flatnonzero(ref_glrlm.any(axis=(0, 2))), default=-1)
    assert used <= trimmed.shape[1] <= nr
    np.testing.assert_array_equal(trimmed, ref_glrlm[:, : trimmed.shape[1]])
    ref_glszm = cMatrices.calculate_glszm(img, mask, ng, int(mask.sum()), force2d, 0)[0]
    zones, sizes = M.glszm(img3, m3, both, ng)
    dense = np.zeros_like(ref_glszm)
    dense[:, sizes.astype(int) - 1] = zones
    np.testing.assert_array_equal(dense, ref_glszm)


def test_glrlm_zeroes_an_angle_whose_lines_hold_no_two_roi_voxels() -> None:
    """pyradiomics zeroes an angle only when none of its lines holds two ROI voxels, adjacent or not.
    A checkerboard: no two ROI voxels touch along x or y, but those lines hold several (kept); two
    far-apart diagonals: lines along x and y hold two voxels apart (kept), the anti-diagonals never
    cross both (zeroed); one diagonal: every line along x, y and the anti-diagonal holds one voxel."""
    from radiomics import cMatrices

    img = np.ones((6, 7), np.int32)
    masks = [
        np.indices((6, 7)).sum(0) % 2 == 0,
        np.eye(6, 7, 2, dtype=bool) | np.eye(6, 7, -3, dtype=bool),
        np.eye(6, 7, dtype=bool),
    ]
    zeroed = []
    for mask in masks:
        one_way = _angles(mask.shape, False)
        ref = cMatrices.calculate_glrlm(img, mask, 1, 7, False, 0)[0][0]
        np.testing.assert_array_equal(M.glrlm(img[np.newaxis], mask[np.newaxis].astype(np.uint8), one_way, 1, 7), ref)
        zeroed.append(int((ref.sum((0, 1)) == 0).sum()))
    assert zeroed == [0, 1, 3]


# --------------------------------------------------------------------------- exactness report


def test_roundoff_values_are_reported_not_compared_relatively() -> None:
    ref = {"a_firstorder_Mean": 3e-16, "b_glcm_Contrast": 12.0}
    ok = compare(ref, {"a_firstorder_Mean": -5e-16, "b_glcm_Contrast": 12.0 * (1 + 1e-9)}, 300.0)
    assert ok.roundoff == ["a_firstorder_Mean"] and ok.mismatches == []
    bad = compare(ref, {"a_firstorder_Mean": 1e-3, "b_glcm_Contrast": 12.1}, 300.0)
    assert [m[0] for m in bad.mismatches] == ["a_firstorder_Mean", "b_glcm_Contrast"]
    assert ROUNDOFF == 1e-9


# --------------------------------------------------------------------------- settings, API, CLI


def test_engine_enters_the_cache_key_and_the_pyradiomics_key_is_unchanged() -> None:
    # pyradiomics, the default before fast, keeps the key its caches and statistics files were written under.
    base = resolve_settings("v0", engine="pyradiomics")
    fast = resolve_settings("v0", engine="fast")
    assert "engine" not in base.extraction_dict()
    assert fast.extraction_hash != base.extraction_hash
    assert fast.stats_hash != base.stats_hash


def test_unknown_engine_is_a_settings_error() -> None:
    from frd.errors import SettingsError

    with pytest.raises(SettingsError, match="engine must be one of"):
        resolve_settings("v1", engine="gpu")


def test_settings_the_engine_cannot_reproduce_are_refused(tmp_path) -> None:
    params = resolve_settings("v0").params(2) | {"setting": {"weightingNorm": "euclidean"}}
    with pytest.raises(EngineUnavailableError, match="weightingNorm"):
        make_extractor(params)
    per_type = resolve_settings("v0").params(2) | {"imageType": {"Original": {"symmetricalGLCM": False}}}
    with pytest.raises(EngineUnavailableError, match="symmetricalGLCM"):
        make_extractor(per_type)


def test_missing_numba_is_a_typed_error(monkeypatch: pytest.MonkeyPatch, png_sets, tmp_path) -> None:
    import frd
    import frd.engine.pipeline as pipeline

    monkeypatch.setattr(pipeline, "available", lambda: False)
    with pytest.raises(EngineUnavailableError, match=r"frd-radiomics\[fast\]"):
        make_extractor(resolve_settings("v0").params(2))
    # before any image, so --skip-invalid cannot turn it into skipping every image
    with pytest.raises(EngineUnavailableError, match=r"frd-radiomics\[fast\]"):
        frd.compute_frd(*png_sets, preset="v0", engine="fast", skip_invalid=True, workers=1, cache_dir=tmp_path)


def test_unsupported_parameter_file_fails_once_in_the_cli(png_sets, tmp_path) -> None:
    from click.testing import CliRunner

    from frd.cli import main

    params = tmp_path / "p.yaml"
    params.write_text("setting:\n  weightingNorm: euclidean\nfeatureClass:\n  glcm:\n", encoding="utf-8")
    a, b = png_sets
    args = [str(a), str(b), "--params", str(params), "--engine", "fast", "--skip-invalid", "-w", "1"]
    run = CliRunner().invoke(main, [*args, "--cache-dir", str(tmp_path / "c")])
    assert run.exit_code == 2
    assert "weightingNorm" in run.output and "Traceback" not in run.output


@pytest.mark.slow
def test_compute_frd_fast_equals_pyradiomics_engine(png_sets, tmp_path) -> None:
    import frd

    a, b = png_sets
    slow = frd.compute_frd(a, b, preset="v0", workers=1, cache_dir=tmp_path, engine="pyradiomics")
    fast = frd.compute_frd(a, b, preset="v0", workers=1, cache_dir=tmp_path, engine="fast")
    assert fast.settings["engine"] == "fast"
    assert fast.frd == pytest.approx(slow.frd, rel=1e-6)
    # the second fast run is served from the cache under the fast engine's own key
    again = frd.compute_frd(a, b, preset="v0", workers=1, cache_dir=tmp_path, engine="fast")
    assert again.frd == fast.frd and again.timings["images_cached"] == again.n[0] + again.n[1]


def test_statistics_of_one_engine_are_refused_by_the_other(png_sets, tmp_path) -> None:
    from frd.api import compute_stats
    from frd.errors import StatsMismatchError

    fast = resolve_settings("ccnet", engine="fast")
    (stats,) = compute_stats([png_sets[0]], fast, workers=1, cache_dir=tmp_path)
    assert compute_stats([stats], fast)[0] is stats
    with pytest.raises(StatsMismatchError, match="add --engine fast"):
        compute_stats([stats], resolve_settings("ccnet", engine="pyradiomics"))


def test_cli_engine_option(png_sets, tmp_path) -> None:
    from click.testing import CliRunner

    from frd.cli import main

    a, b = png_sets
    run = CliRunner().invoke(main, [str(a), str(b), "--preset", "ccnet", "--engine", "fast", "-w", "1", "-q"])
    assert run.exit_code == 0, run.output
    assert float(run.output.strip()) > 0
    bad = CliRunner().invoke(main, [str(a), str(b), "--engine", "gpu"])
    assert bad.exit_code == 2


def test_import_frd_does_not_import_numba() -> None:
    code = "import sys, frd, frd.api, frd.cli, frd.extract; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_streaming_and_metric_front_ends_take_the_engine() -> None:
    from frd.streaming import FRD

    assert FRD(preset="ccnet", engine="fast").settings.engine == "fast"
    assert FRD(preset="ccnet").settings.engine == "fast"
    assert FRD(preset="ccnet", engine="pyradiomics").settings.engine == "pyradiomics"


# --------------------------------------------------------------------------- the torch path (engine="torch")


def _binned_batch(rng: np.random.Generator, shapes: list[tuple[int, ...]]) -> list:
    from frd.engine.discretize import discretize

    out = []
    for k, shape in enumerate(shapes):
        arr = rng.integers(0, 100, shape).astype(np.float64)
        roi = rng.random(shape) < 0.7
        roi[(shape[0] // 2,)] = True  # an ROI pyradiomics accepts
        if k == 1 and len(shape) == 2:  # a checkerboard: lines of several voxels, none adjacent along x or y
            roi = np.add.outer(np.arange(shape[0]), np.arange(shape[1])) % 2 == 0
        b = discretize(arr, roi, {"binWidth": 25})
        b.image = np.ascontiguousarray(b.image[np.newaxis] if b.image.ndim == 2 else b.image)
        out.append((b, np.ascontiguousarray((roi[np.newaxis] if roi.ndim == 2 else roi).astype(np.uint8))))
    return out


@pytest.mark.parametrize(
    "shapes",
    [[(9, 13), (17, 5), (12, 12)], [(1, 30), (30, 1), (2, 2)], [(5, 6, 7), (4, 9, 3)], [(1, 9), (1, 9)]],
    ids=["2d-ragged", "2d-flat-rois", "3d", "2d-rows"],
)
def test_torch_matrices_equal_the_numba_matrices_batched(shapes: list[tuple[int, ...]]) -> None:
    """Images of different shapes in one device batch: every matrix equals the numba kernel's for that image."""
    pytest.importorskip("torch")
    from frd.engine import torch_backend as T
    from frd.engine.pipeline import _angles, _symmetric_index_cached

    rng = np.random.default_rng(len(shapes[0]) * 100 + shapes[0][0])
    items = _binned_batch(rng, shapes)
    grid = tuple(max(s[d] for s in shapes) for d in range(len(shapes[0])))  # one angle set for the batch
    both, one = _angles(grid, {}, True, [1]), _angles(grid, {}, False, [1])
    sym = _symmetric_index_cached(grid, {}, [1])
    batch = T.make_batch([b for b, _ in items], both, "cpu")
    glcm, gldm, ngtdm = T.neighbourhood(batch, both, sym, len(one), 0)
    nr = max(grid)
    runs = T.glrlm(batch, one, nr)
    zone_image, zone_level, zone_size = T.glszm_zones(batch, both)
    for i, (b, mask) in enumerate(items):
        ng = b.ng
        g, d, n = M.neighbourhood(b.image, mask, both, sym, ng, len(one), 0, True, True, True)
        full = (batch.ng, batch.ng, len(one))
        np.testing.assert_array_equal(T.image_matrix(glcm, i, full, (ng, ng, len(one))), g)
        np.testing.assert_array_equal(gldm[i, :ng], d)
        np.testing.assert_allclose(ngtdm[i, :ng], n, rtol=1e-13, atol=0)
        got_runs = T.image_matrix(runs, i, (batch.ng, nr, len(one)), (ng, nr, len(one)))
        np.testing.assert_array_equal(got_runs, M.glrlm(b.image, mask, one, ng, nr))
        mine = zone_image == i
        p, sizes = T._glszm_matrix(zone_level[mine], zone_size[mine], ng)
        want_p, want_sizes = M.glszm(b.image, mask, both, ng)
        np.testing.assert_array_equal(p, want_p)
        np.testing.assert_array_equal(sizes, want_sizes)


@pytest.mark.parametrize("preset", ["v1", "v0", "ccnet"])
def test_torch_engine_features_match_pyradiomics_in_one_batch(preset: str) -> None:
    """Every 2D case of the oracle, extracted in one execute_batch call on the CPU device."""
    pytest.importorskip("torch")
    s = resolve_settings(preset)
    params = s.params(2)
    pairs = []
    for case in CASES_2D:
        texture, mask, shape = case
        rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
        pairs.append(_pair(_texture(rng, shape, texture), _mask(rng, shape, mask), preset))
    extractor = make_extractor(params, engine="torch")
    assert extractor.device == "cpu"  # no GPU in CI
    for got, (img, m) in zip(extractor.execute_batch(pairs), pairs, strict=True):
        ref = _pyradiomics(params, img, m)
        assert list(got) == list(ref)
        report = compare(ref, {k: float(v) for k, v in got.items()}, intensity_scale(img))
        assert report.mismatches == [], report.mismatches[:5]


def test_torch_engine_3d_matches_pyradiomics() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arr, msk = _texture(rng, (12, 18, 12), "blocks"), _mask(rng, (12, 18, 12), "blob")
    params = resolve_settings("v0").params(3)
    img, m = _pair(arr, msk, "v0")
    ref = _pyradiomics(params, img, m)
    got = make_extractor(params, engine="torch").execute(img, m)
    assert list(got) == list(ref)
    report = compare(ref, {k: float(v) for k, v in got.items()}, intensity_scale(img))
    assert report.mismatches == [], report.mismatches[:5]


def test_torch_engine_device_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from frd.engine.torch_backend import DEVICE_ENV, default_device

    monkeypatch.setenv(DEVICE_ENV, "meta")
    assert default_device() == "meta"
    monkeypatch.delenv(DEVICE_ENV)
    import torch

    assert default_device() == ("cuda" if torch.cuda.is_available() else "cpu")


def test_missing_torch_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from frd.engine.pipeline import ensure_usable

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(EngineUnavailableError, match=r"frd-radiomics\[torch\]"):
        ensure_usable(resolve_settings("v0").params(2), engine="torch")


def test_cli_torch_engine_equals_fast_engine(png_sets, tmp_path) -> None:
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from frd.cli import main

    a, b = png_sets
    out = {}
    for engine in ("fast", "torch"):
        args = [str(a), str(b), "--preset", "v0", "--engine", engine, "-w", "1", "-q", "--cache-dir", str(tmp_path)]
        run = CliRunner().invoke(main, args)
        assert run.exit_code == 0, run.output
        out[engine] = float(run.output.strip())
    assert out["torch"] == pytest.approx(out["fast"], rel=1e-9)


def test_import_frd_and_the_engine_do_not_import_torch() -> None:
    code = (
        "import sys, frd, frd.api, frd.cli, frd.extract, frd.engine.pipeline, frd.engine.torch_backend; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
