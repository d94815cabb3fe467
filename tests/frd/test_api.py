"""compute_frd end to end on generated sets: errors, masks, stats stand-ins, reporting."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import SimpleITK as sitk

import frd

from datagen import write_nifti_set, write_png_set


def test_result_reports_everything(png_sets):
    a, b = png_sets
    r = frd.compute_frd(a, b, preset="v0", cache=False, workers=1)
    assert r.n == (12, 9) and len(r.features) == 102 and r.frd == r.d2_raw
    assert r.d2 == pytest.approx(r.mean_term + r.trace_term)
    d = r.to_dict()
    assert next(iter(d)) == "frd"
    assert set(d["versions"]) >= {"frd", "pyradiomics", "numpy", "SimpleITK"}
    assert any("fewer images than features" in w for w in r.warnings)


@pytest.mark.slow
def test_identical_sets_v1_gives_minus_inf_with_warning_and_d2_zero(png_sets):
    a, _ = png_sets
    r = frd.compute_frd(a, a, preset="v1", cache=False)
    # scipy's sqrtm leaves d² of identical sets a little below 0, as in the reference: ln of it is -inf
    assert r.d2_raw <= 0, f"premise: identical sets give d² <= 0 from round-off, got {r.d2_raw}"
    assert r.frd == float("-inf")
    assert r.d2 == 0.0
    assert any("ln(d²) is -inf" in w for w in r.warnings)
    assert any("came out negative" in w for w in r.warnings) or r.d2_raw == 0
    d = r.to_dict()
    assert d["frd"] == "-inf" and d["d2"] == 0.0 and d["d2_raw"] == r.d2_raw


@pytest.mark.slow
def test_stats_file_stands_in_for_a_folder_for_every_normalization(png_sets, tmp_path):
    a, b = png_sets
    for preset, ref in (("v0", "joint"), ("v0", "d1"), ("v1", "d1"), ("ccnet", "independent")):
        s = frd.resolve_settings(preset, norm_ref=ref)
        [sa] = frd.compute_stats([a], s)
        path = sa.save(tmp_path / f"{preset}-{ref}.npz")
        direct = frd.compute_frd(a, b, preset=preset, norm_ref=ref)
        via = frd.compute_frd(path, b, preset=preset, norm_ref=ref)
        assert via.frd == pytest.approx(direct.frd, rel=1e-10)


def test_too_few_images(tmp_path, png_sets):
    one = tmp_path / "one"
    write_png_set(one, 1, seed=9)
    with pytest.raises(frd.TooFewImagesError, match="at least 2"):
        frd.compute_frd(one, png_sets[1], preset="v0")


def test_mixed_2d_3d_set_is_an_error(tmp_path):
    mixed = tmp_path / "mixed"
    write_png_set(mixed, 2, seed=1)
    write_nifti_set(mixed, 2, seed=2)
    with pytest.raises(frd.DimensionMismatchError):
        frd.compute_frd(mixed, mixed, preset="v0")


def test_2d_vs_3d_sets_is_an_error(png_sets, nifti_sets):
    with pytest.raises(frd.DimensionMismatchError):
        frd.compute_frd(png_sets[0], nifti_sets[0], preset="v0")


def test_corrupt_file_fails_by_default_and_is_reported_when_skipped(tmp_path, png_sets):
    a = tmp_path / "a"
    shutil.copytree(png_sets[0], a)
    (a / "zz_broken.png").write_bytes(b"not a png")
    with pytest.raises(frd.InvalidImageError, match=r"zz_broken\.png"):
        frd.compute_frd(a, png_sets[1], preset="v0")
    r = frd.compute_frd(a, png_sets[1], preset="v0", skip_invalid=True)
    assert r.n == (12, 9)
    assert [s["path"].endswith("zz_broken.png") for s in r.skipped] == [True]


def test_masks_change_the_result_and_pair_by_name(tmp_path, png_sets):
    a, b = png_sets
    ma, mb = tmp_path / "ma", tmp_path / "mb"
    for src, dst in ((a, ma), (b, mb)):
        dst.mkdir()
        for f in sorted(src.iterdir()):
            m = np.zeros((64, 64), np.uint8)
            m[8:40, 16:56] = 255  # 0/255 masks are rescaled to 0/1 as in the reference
            sitk.WriteImage(sitk.GetImageFromArray(m), str(dst / f.name.replace(".png", ".nrrd")))
    with_masks = frd.compute_frd(a, b, preset="v0", masks=(ma, mb))
    without = frd.compute_frd(a, b, preset="v0")
    assert with_masks.n == without.n and with_masks.frd != pytest.approx(without.frd)


def test_unknown_option_and_preset():
    with pytest.raises(frd.SettingsError, match="unknown option"):
        frd.compute_frd("a", "b", bogus=1)
    with pytest.raises(frd.SettingsError, match="unknown preset"):
        frd.compute_frd("a", "b", preset="v9")


def test_custom_params_file(tmp_path, png_sets):
    params = tmp_path / "p.yaml"
    params.write_text(
        "imageType: {Original: {}}\nfeatureClass: {firstorder: }\nsetting: {binWidth: 10}\n", encoding="utf-8"
    )
    r = frd.compute_frd(*png_sets, preset="v0", params_file=params)
    assert len(r.features) == 18 and all(f.startswith("firstorder_") for f in r.features)
    bad = tmp_path / "bad.yaml"
    bad.write_text("hello: world\n", encoding="utf-8")
    with pytest.raises(frd.SettingsError, match="not a pyradiomics parameter file"):
        frd.compute_frd(*png_sets, params_file=bad)


@pytest.mark.slow
def test_norm_ref_and_log_overrides(png_sets):
    a, b = png_sets
    base = frd.compute_frd(a, b, preset="v1")
    nolog = frd.compute_frd(a, b, preset="v1", log=False)
    assert nolog.frd == pytest.approx(np.exp(base.frd), rel=1e-9)
    joint = frd.compute_frd(a, b, preset="v1", norm_ref="joint")
    assert joint.settings["norm_ref"] == "joint" and joint.frd != pytest.approx(base.frd)
