"""Each preset against the reference implementation, frd-score 1.0.1, run here as an oracle.

The oracle's numbers on these generated inputs are also stored in golden.json, so that a
regression shows even where frd-score cannot be installed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from oracle_ref import one_itk_thread

import frd

GOLDEN = json.loads((Path(__file__).parent / "golden.json").read_text(encoding="utf-8"))
CCNET_CLASSES = ["firstorder", "glcm", "glrlm", "gldm", "glszm", "ngtdm"]
REFERENCE_KWARGS = {
    "v1": {},
    "v0": {"frd_version": "v0"},
    "ccnet": {"frd_version": "v0", "features": CCNET_CLASSES, "norm_ref": "independent", "resize_size": 224},
}
REL = 1e-6


def _reference(a: Path, b: Path, preset: str) -> float:
    # frd-score 1.0.1 is pinned in the test extra: a missing oracle is a failure, not a skip.
    from frd_score import frd as frd_score

    # One ITK thread, as frd's extraction: with more, v1 on 3D images moves by up to ~1e-5 from run to run.
    with warnings.catch_warnings(), one_itk_thread():
        warnings.simplefilter("ignore")
        return float(frd_score.compute_frd([str(a), str(b)], num_workers=2, **REFERENCE_KWARGS[preset]))


@pytest.mark.oracle
@pytest.mark.parametrize("preset", ["v1", "v0", "ccnet"])
@pytest.mark.parametrize("kind", ["png", "nifti"])
@pytest.mark.parametrize("order", ["ab", "ba"])
def test_preset_equals_reference(preset, kind, order, png_sets, nifti_sets):
    a, b = png_sets if kind == "png" else nifti_sets
    if order == "ba":
        a, b = b, a
    ours = frd.compute_frd(a, b, preset=preset, cache=False, workers=2)
    golden = GOLDEN[f"{preset}-{kind}-{order}"]
    assert ours.frd == pytest.approx(golden, rel=REL)
    assert ours.frd == pytest.approx(_reference(a, b, preset), rel=REL)


def _fingerprint(folder: Path) -> tuple[int, str]:
    """Image count and sha256 over the decoded pixels (not the file bytes, which depend on the PNG/gzip encoder)."""
    import hashlib

    import SimpleITK as sitk

    h = hashlib.sha256()
    files = sorted(folder.iterdir())
    for f in files:
        arr = sitk.GetArrayFromImage(sitk.ReadImage(str(f)))
        h.update(f"{f.name}{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
    return len(files), h.hexdigest()


def test_unequal_sizes_are_what_the_goldens_cover(png_sets, nifti_sets):
    # The goldens were computed on these fixtures: if the generated sets change, the goldens no
    # longer describe them (and must be recomputed with frd-score); if the counts are equal, the
    # goldens no longer cover unequal set sizes.
    recorded = GOLDEN["_sets"]
    for kind, (a, b) in (("png", png_sets), ("nifti", nifti_sets)):
        (na, fa), (nb, fb) = _fingerprint(a), _fingerprint(b)
        assert [na, nb] == recorded[kind]["n"], f"{kind} fixture sizes changed since the goldens were computed"
        assert [fa, fb] == recorded[kind]["pixels_sha256"], f"{kind} fixture pixels changed since the goldens"
        assert na != nb, f"the {kind} goldens must cover sets of unequal size"


@pytest.fixture(scope="module")
def png_masks(png_sets, tmp_path_factory):
    """0/255 masks named like the images: the reference pairs by sort order, frd by name; same here."""
    import numpy as np
    import SimpleITK as sitk

    root = tmp_path_factory.mktemp("masks")
    out = []
    for src in png_sets:
        dst = root / src.name
        dst.mkdir()
        for i, f in enumerate(sorted(src.iterdir())):
            m = np.zeros((64, 64), np.uint8)
            m[6 + i % 5 : 44 + i % 7, 10 : 50 - i % 4] = 255
            sitk.WriteImage(sitk.GetImageFromArray(m), str(dst / f.name))
        out.append(dst)
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("preset", ["v1", "v0"])
def test_preset_with_masks_equals_reference(preset, png_sets, png_masks):
    from frd_score import frd as frd_score

    ours = frd.compute_frd(*png_sets, preset=preset, masks=tuple(png_masks), cache=False, workers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = frd_score.compute_frd(
            [str(p) for p in png_sets],
            paths_masks=[str(p) for p in png_masks],
            num_workers=2,
            **REFERENCE_KWARGS[preset],
        )
    assert ours.frd == pytest.approx(float(ref), rel=REL)
