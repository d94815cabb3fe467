"""The presets' number is the reference's, replayed from per-image rows; where it is unstable, the report says so.

The arithmetic oracle hands frd-score 1.0.1's own post-processing the same feature rows
(tests/oracle_ref.py), so ill-conditioned columns (constant up to round-off, constant in one set,
huge magnitudes, NaN) are checked without extracting a single image.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle_ref import reference_from_rows, rel_diff

import frd
from frd.cli import main
from frd.stats import FeatureStats

REL = 1e-6


def _ours(xa: np.ndarray, xb: np.ndarray, names: list[str], preset: str, **options) -> frd.FRDResult:
    s = frd.resolve_settings(preset, **options)
    return frd.frd_from_stats(FeatureStats.from_features(xa, names, s), FeatureStats.from_features(xb, names, s), s)


@st.composite
def feature_rows(draw: st.DrawFn) -> tuple[str, np.ndarray, np.ndarray, list[str]]:
    """Two raw feature matrices with the columns that break float64 sums: constant up to round-off,
    constant (in one set or both), a different constant per set, huge magnitudes, NaN entries."""
    preset = draw(st.sampled_from(["v1", "v0", "ccnet"]))
    na, nb = draw(st.integers(3, 12)), draw(st.integers(3, 12))
    p = draw(st.integers(2, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    loc = rng.uniform(-50, 50, p) * 10.0 ** rng.integers(-3, 4, p)
    scale = np.abs(loc) * rng.uniform(0.01, 0.5, p) + 1e-3
    xa = rng.normal(loc, scale, (na, p))
    xb = rng.normal(loc + scale * rng.normal(0, 0.5, p), scale * rng.uniform(0.5, 2, p), (nb, p))
    kinds = draw(st.lists(st.sampled_from(["roundoff", "roundoff2", "const", "const_a", "huge", "nan"]), max_size=4))
    for j, kind in enumerate(kinds[: p - 1]):
        c = float(rng.uniform(1, 1e4))
        if kind == "roundoff":  # a shape feature of one image size: equal up to a few ulps
            xa[:, j] = c * (1 + rng.integers(-4, 5, na) * np.finfo(float).eps)
            xb[:, j] = c * (1 + rng.integers(-4, 5, nb) * np.finfo(float).eps)
        elif kind == "roundoff2":  # ... and of another image size in B
            xa[:, j] = c * (1 + rng.integers(-4, 5, na) * np.finfo(float).eps)
            xb[:, j] = 1.3 * c * (1 + rng.integers(-4, 5, nb) * np.finfo(float).eps)
        elif kind == "const":
            xa[:, j] = xb[:, j] = c
        elif kind == "const_a":
            xa[:, j] = c
        elif kind == "huge":
            xa[:, j] *= 1e12
            xb[:, j] *= 1e12
        elif kind == "nan" and preset != "v1":
            xa[rng.integers(0, na), j] = np.nan
            xb[rng.integers(0, nb), j] = np.nan
    return preset, xa, xb, [f"f{j}" for j in range(p)]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(feature_rows())
def test_rows_give_the_reference_number_in_both_orders(case):
    preset, xa, xb, names = case
    for a, b in ((xa, xb), (xb, xa)):
        ours = _ours(a, b, names, preset)
        ref = reference_from_rows(a, b, names, preset)
        assert ours.arithmetic == "reference"
        assert ours.frd == ref or rel_diff(ours.frd, ref) <= REL, (preset, ours.frd, ref)


def test_near_constant_column_under_v0_is_the_reference_number_and_reported():
    # The case: a shape feature of one image size per set, equal up to round-off (spread
    # ~1e-15 of its value); (x − min)/(max − min)·R turns the round-off into full-range values.
    rng = np.random.default_rng(5)
    xa, xb = rng.normal(10, 2, (12, 6)), rng.normal(11, 2, (12, 6))
    xa[:, 0] = 7.0 * (1 + rng.integers(-3, 4, 12) * 2.2e-16)
    xb[:, 0] = 7.0 * (1 + rng.integers(-3, 4, 12) * 2.2e-16)
    names = [f"original_shape2D_Elongation{j}" if j == 0 else f"f{j}" for j in range(6)]
    ours = _ours(xa, xb, names, "v0")
    assert ours.frd == pytest.approx(reference_from_rows(xa, xb, names, "v0"), rel=1e-12)
    sums = frd.frd_from_stats(*_without_rows(xa, xb, names, "v0"), frd.resolve_settings("v0"))
    assert sums.arithmetic == "float64-sums"
    # float64 sums cancel there: this is the divergence the replay removes.
    assert rel_diff(sums.frd, ours.frd) > 1e-3
    near = {x["feature"]: x for x in ours.condition["near_constant"]}
    assert list(near) == [names[0]] and near[names[0]]["spread_rel"] < 1e-14
    assert ours.condition["near_constant_share_of_d2"] == pytest.approx(near[names[0]]["share_of_d2"])
    assert near[names[0]]["share_of_d2"] > 0.05


def _without_rows(xa, xb, names, preset):
    s = frd.resolve_settings(preset)
    out = []
    for x in (xa, xb):
        st_ = FeatureStats.from_features(x, names, s)
        st_.rows = None
        out.append(st_)
    return out


def _dominated_v1_rows() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A wavelet feature that barely moves in A (1e-7 of its value) but varies in B: its z-scores are ~1e7."""
    rng = np.random.default_rng(3)
    na, nb, p = 20, 20, 12
    xa, xb = rng.normal(50, 5, (na, p)), rng.normal(52, 5, (nb, p))
    xa[:, 0] = 1000 + rng.normal(0, 1, na) * 1e-4
    xb[:, 0] = 1000 + rng.normal(0, 1, nb) * 1e3
    names = ["wavelet-HH_glszm_GrayLevelNonUniformity"] + [f"original_firstorder_F{j}" for j in range(1, p)]
    return xa, xb, names


def test_one_feature_carrying_d2_is_named_in_a_warning_and_the_condition(caplog):
    xa, xb, names = _dominated_v1_rows()
    with caplog.at_level(logging.WARNING, logger="frd"):
        ours = _ours(xa, xb, names, "v1")
    top = ours.condition["largest_share_of_d2"]
    assert top["feature"] == names[0] and top["share"] > 0.999
    lines = [r.getMessage() for r in caplog.records if "carries" in r.getMessage()]
    assert len(lines) == 1 and names[0] in lines[0]
    assert any(names[0] in w for w in ours.warnings)


def test_robust_tames_a_dominated_set_and_leaves_the_preset_number_alone():
    xa, xb, names = _dominated_v1_rows()
    s = frd.resolve_settings("v1")
    a, b = FeatureStats.from_features(xa, names, s), FeatureStats.from_features(xb, names, s)
    preset = frd.frd_from_stats(a, b, s, kid=True)
    assert preset.frd == pytest.approx(reference_from_rows(xa, xb, names, "v1"), rel=1e-12)
    assert preset.kid["mean"] > 1e30
    rs = frd.resolve_settings("v1", robust=True)
    robust = frd.frd_from_stats(
        FeatureStats.from_features(xa, names, rs), FeatureStats.from_features(xb, names, rs), rs, kid=True
    )
    # The feature still differs (constant in A, spread in B), but in units of the pooled spread.
    assert abs(robust.kid["mean"]) < 1e5
    assert robust.condition["largest_share_of_d2"]["share"] < preset.condition["largest_share_of_d2"]["share"]
    assert robust.frd < preset.frd - 5
    assert robust.settings["robust"] is True and preset.settings["robust"] is False
    assert robust.settings_hash != preset.settings_hash


def test_robust_drops_near_constant_columns():
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(10, 2, (10, 5)), rng.normal(11, 2, (10, 5))
    xa[:, 2] = 3.0 * (1 + rng.integers(-3, 4, 10) * 2.2e-16)
    xb[:, 2] = 3.0 * (1 + rng.integers(-3, 4, 10) * 2.2e-16)
    names = [f"f{j}" for j in range(5)]
    robust = _ours(xa, xb, names, "v0", robust=True)
    assert "f2" not in robust.features and "near-constant" in robust.features_dropped["f2"]
    assert "f2" in _ours(xa, xb, names, "v0").features


def test_arithmetic_field_in_json(png_sets):
    out = CliRunner().invoke(main, [*map(str, png_sets), "--preset", "v0", "--json", "-q"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["arithmetic"] == "reference"
    assert set(report["condition"]) >= {"near_constant", "near_constant_share_of_d2", "largest_share_of_d2"}


# ------------------------------------------------------------------ statistics files


@pytest.mark.parametrize("preset", ["v1", "v0"])
def test_statistics_files_give_the_folders_number(png_sets, tmp_path, preset):
    runner = CliRunner()
    sa, sb = tmp_path / "a.npz", tmp_path / "b.npz"
    out = runner.invoke(
        main, [*map(str, png_sets), "--preset", preset, "--save-stats", str(sa), "--save-stats", str(sb), "-q"]
    )
    assert out.exit_code == 0, out.output
    folders = float(out.stdout)
    again = runner.invoke(main, [str(sa), str(sb), "--preset", preset, "--json", "-q"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["arithmetic"] == "reference" and report["frd"] == folders


def test_statistics_files_store_hashes_not_paths_unless_asked(png_sets, tmp_path):
    runner = CliRunner()
    plain, kept = tmp_path / "plain.npz", tmp_path / "kept.npz"
    assert runner.invoke(main, [str(png_sets[0]), "--preset", "v0", "--save-stats", str(plain), "-q"]).exit_code == 0
    args = [str(png_sets[0]), "--preset", "v0", "--save-stats", str(kept), "--keep-paths", "-q"]
    assert runner.invoke(main, args).exit_code == 0
    files = sorted(png_sets[0].iterdir())

    def meta_text(path):
        with np.load(path) as z:
            assert z["rows"].shape[0] == len(files)
            return str(z["meta"])

    plain_text, kept_text = meta_text(plain), meta_text(kept)
    assert str(png_sets[0]) not in plain_text and "img_000" not in plain_text
    assert str(png_sets[0]) in kept_text and "img_000" in kept_text
    meta = json.loads(plain_text)
    assert meta["row_sha256"] == [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert meta["n_rows"] == len(files) and meta["paths"] == [] and meta["paths_kept"] is False
    assert FeatureStats.load(kept).row_paths == [str(f) for f in files]


def test_old_statistics_format_still_loads(tmp_path):
    s = frd.resolve_settings("v0")
    x = np.random.default_rng(0).normal(size=(6, 3))
    st_ = FeatureStats.from_features(x, ["a", "b", "c"], s)
    meta = {"format": "frd-stats/1", "names": st_.names, "stats_hash": st_.stats_hash, "n_complete": 6}
    arrays = {"shift": st_.mean, "sum": np.zeros(3), "sum_outer": st_.scatter, "min": st_.min, "max": st_.max}
    np.savez(
        tmp_path / "old.npz", meta=np.array(json.dumps(meta)), nan_count=st_.nan_count, nan_rows=st_.nan_rows, **arrays
    )
    old = FeatureStats.load(tmp_path / "old.npz")
    assert old.rows is None
    np.testing.assert_array_equal(old.scatter, st_.scatter)


def test_interpret_names_files_only_when_asked(png_sets, tmp_path, monkeypatch):
    import frd.interpret as interp

    titles: list[str] = []
    real = interp._thumbnails

    def spy(res, target, plt, show_names):
        original = plt.Axes.set_title

        def record(self, label, *a, **k):
            titles.append(str(label))
            return original(self, label, *a, **k)

        monkeypatch.setattr(plt.Axes, "set_title", record)
        return real(res, target, plt, show_names)

    monkeypatch.setattr(interp, "_thumbnails", spy)
    runner = CliRunner()
    args = ["interpret", *map(str, png_sets), "--preset", "v0", "--out", str(tmp_path / "x"), "-q"]
    assert runner.invoke(main, args).exit_code == 0
    assert titles and not any("img_" in t for t in titles)
    titles.clear()
    args = ["interpret", *map(str, png_sets), "--preset", "v0", "--out", str(tmp_path / "y"), "-q", "--show-names"]
    assert runner.invoke(main, args).exit_code == 0
    assert any("img_" in t for t in titles)


# ------------------------------------------------------------------ light imports

HEAVY = ("SimpleITK", "radiomics", "scipy", "torch", "matplotlib", "sklearn", "pandas", "cv2", "pywt", "click", "yaml")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_frd_is_light():
    assert _imported_after("import frd") == []


def test_a_fully_cached_run_imports_no_extraction_stack(png_sets, tmp_path):
    cache = tmp_path / "cache"
    args = [*map(str, png_sets), "--preset", "v0", "-q", "--cache-dir", str(cache)]
    assert CliRunner().invoke(main, args).exit_code == 0
    run = f"from frd.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"
    loaded = _imported_after(run)
    assert not {"SimpleITK", "radiomics", "torch", "matplotlib", "cv2", "pywt"} & set(loaded), loaded


def test_lazy_module_imports_on_first_use():
    code = "from frd._lazy import sitk\nimport sys\nassert 'SimpleITK' not in sys.modules\nsitk.Image\n"
    assert "SimpleITK" in _imported_after(code)


def test_robust_without_rows_uses_the_same_rules():
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(10, 2, (10, 5)), rng.normal(11, 2, (10, 5))
    xa[:, 2] = 3.0 * (1 + rng.integers(-3, 4, 10) * 2.2e-16)
    xb[:, 2] = 3.0 * (1 + rng.integers(-3, 4, 10) * 2.2e-16)
    names = [f"f{j}" for j in range(5)]
    rs = frd.resolve_settings("v0", robust=True)
    sums = frd.frd_from_stats(*_without_rows(xa, xb, names, "v0"), rs)
    exact = _ours(xa, xb, names, "v0", robust=True)
    assert sums.arithmetic == "float64-sums" and "f2" in sums.features_dropped
    assert sums.frd == pytest.approx(exact.frd, rel=1e-9)
    xa, xb, names = _dominated_v1_rows()
    rs = frd.resolve_settings("v1", robust=True)
    assert frd.frd_from_stats(*_without_rows(xa, xb, names, "v1"), rs).frd < _ours(xa, xb, names, "v1").frd - 5


def test_float32_means_stay_float32_only_when_asked():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=300).astype(np.float32), rng.normal(size=300).astype(np.float32)
    cov = np.eye(300)
    diff32 = mu1 - mu2
    diff64 = mu1.astype(np.float64) - mu2.astype(np.float64)
    assert float(diff32.dot(diff32)) != float(diff64.dot(diff64))
    assert frd.frechet_terms(mu1, cov, mu2, cov).mean_term == float(diff64.dot(diff64))
    kept = frd.frechet_terms(mu1, cov, mu2, cov, keep_float32_means=True)
    assert kept.mean_term == float(diff32.dot(diff32))
