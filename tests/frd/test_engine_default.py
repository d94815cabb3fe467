"""``fast`` is the default engine: where it cannot reproduce the settings, pyradiomics runs (one INFO
line) unless the user named ``fast``; caches and statistics files never mix the engines; the report
says whether round-off columns leave the number within 1e-6 of the pyradiomics engine's."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
from click.testing import CliRunner

import frd
from frd.cli import main
from frd.condition import ENGINE_EXACT_SHARE, ROUNDOFF_REL
from frd.settings import resolve_settings
from frd.stats import FeatureStats

ROOT = Path(__file__).parents[2]
WEIGHTED = "setting:\n  weightingNorm: euclidean\nfeatureClass:\n  glcm:\n"


def _params(tmp_path: Path, text: str = WEIGHTED) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ choosing the engine


@pytest.mark.parametrize("preset", ["v1", "v0", "ccnet"])
def test_fast_is_the_default_engine(preset: str) -> None:
    assert resolve_settings(preset).engine == "fast"
    assert resolve_settings(preset, engine="pyradiomics").engine == "pyradiomics"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (WEIGHTED, "weightingNorm"),
        ("setting:\n  symmetricalGLCM: false\nfeatureClass:\n  glcm:\n", "symmetricalGLCM"),
        ("imageType:\n  Original:\n    resegmentRange: [0, 100]\nfeatureClass:\n  firstorder:\n", "resegmentRange"),
    ],
)
def test_settings_fast_refuses_fall_back_to_pyradiomics_with_one_info_line(tmp_path, caplog, text, reason) -> None:
    with caplog.at_level(logging.INFO, logger="frd"):
        s = resolve_settings("v0", params_file=_params(tmp_path, text))
    assert s.engine == "pyradiomics"
    lines = [r for r in caplog.records if "engine" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO and reason in lines[0].getMessage()


def test_named_fast_engine_is_kept_and_refused_at_extraction(tmp_path, png_sets) -> None:
    from frd.engine import EngineUnavailableError

    s = resolve_settings("v0", params_file=_params(tmp_path), engine="fast")
    assert s.engine == "fast"
    with pytest.raises(EngineUnavailableError, match="weightingNorm"):
        frd.compute_frd(*png_sets, s, workers=1, cache=False)


def test_default_without_numba_runs_pyradiomics(monkeypatch, caplog) -> None:
    import frd.engines

    monkeypatch.setattr(frd.engines, "numba_installed", lambda: False)
    with caplog.at_level(logging.INFO, logger="frd"):
        assert resolve_settings("v1").engine == "pyradiomics"
    assert any("numba" in r.getMessage() for r in caplog.records)
    assert resolve_settings("v1", engine="fast").engine == "fast"  # named: refused later with the install line


def test_unknown_feature_class_in_a_parameter_file_stays_on_pyradiomics() -> None:
    from frd.engines import fast_refusal

    assert fast_refusal([{"featureClass": {"glcm": None, "shape": None}}]) is None
    assert "lbp" in (fast_refusal([{"featureClass": {"lbp": None}}]) or "")


def test_resolving_settings_imports_neither_numba_nor_simpleitk() -> None:
    """A run whose every feature is cached chooses its engine without the heavy imports."""
    code = (
        "import sys, frd; s = frd.resolve_settings('v1'); assert s.engine == 'fast'; "
        "heavy = {'numba', 'SimpleITK', 'radiomics'} & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ caches and statistics files


@pytest.mark.slow
def test_caches_of_the_two_engines_are_never_mixed(png_sets, tmp_path) -> None:
    a, b = png_sets
    n = 12 + 9
    old = frd.compute_frd(a, b, "v0", engine="pyradiomics", workers=1, cache_dir=tmp_path)
    assert old.timings["images_cached"] == 0
    new = frd.compute_frd(a, b, "v0", workers=1, cache_dir=tmp_path)  # the default: fast, its own key
    assert new.settings["engine"] == "fast" and new.timings["images_cached"] == 0
    again = frd.compute_frd(a, b, "v0", engine="pyradiomics", workers=1, cache_dir=tmp_path)
    assert again.timings["images_cached"] == n and again.frd == old.frd
    assert new.frd == pytest.approx(old.frd, rel=1e-6)


def test_statistics_file_of_the_old_default_names_the_engine(png_sets, tmp_path) -> None:
    out = tmp_path / "a.npz"
    args = [str(png_sets[0]), "--save-stats", str(out), "--preset", "ccnet", "--engine", "pyradiomics", "-w", "1"]
    run = CliRunner().invoke(main, [*args, "-q"])
    assert run.exit_code == 0, run.output
    refused = CliRunner().invoke(main, [str(out), str(png_sets[1]), "--preset", "ccnet", "-w", "1", "-q"])
    assert refused.exit_code == 2
    assert "pyradiomics engine" in refused.output and "--engine pyradiomics" in refused.output
    ok = CliRunner().invoke(
        main, [str(out), str(png_sets[1]), "--preset", "ccnet", "--engine", "pyradiomics", "-w", "1", "-q"]
    )
    assert ok.exit_code == 0, ok.output


# ------------------------------------------------------------------ CLI


def test_cli_default_engine_and_fallback_are_in_the_report(png_sets, tmp_path) -> None:
    a, b = map(str, png_sets)
    run = CliRunner().invoke(main, [a, b, "--preset", "ccnet", "-w", "1", "--json", "-q"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    assert report["settings"]["engine"] == "fast"
    # ccnet min-maxes every column: no round-off column carries d², so the number is in the exact case
    assert report["condition"]["engine_exact"] is True and report["condition"]["roundoff_share_of_d2"] == 0.0
    params = str(_params(tmp_path))
    fell = CliRunner().invoke(main, [a, b, "--params", params, "-w", "1", "--json", "-v"])
    assert fell.exit_code == 0, fell.output
    assert json.loads(fell.stdout)["settings"]["engine"] == "pyradiomics"
    assert fell.stderr.count("engine: pyradiomics, because the fast engine") == 1
    named = CliRunner().invoke(main, [a, b, "--params", params, "--engine", "fast", "-w", "1"])
    assert named.exit_code == 2 and "weightingNorm" in named.output and "Traceback" not in named.output


def test_help_names_fast_as_the_default() -> None:
    text = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    assert "fast (default" in text


# ------------------------------------------------------------------ the distribution


def test_numba_is_a_core_dependency_and_the_fast_extra_stays() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {r.split(">")[0].split("=")[0].strip().lower() for r in project["dependencies"]}
    assert "numba" in core
    assert project["optional-dependencies"]["fast"], "old install lines name the [fast] extra"
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert "numba==" in pins and "llvmlite==" in pins


# ------------------------------------------------------------------ the condition report's round-off case


def _rows(roundoff_a: np.ndarray, roundoff_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """v1-like rows: intensity extremes ~100, five ordinary features, one high-pass band mean."""
    rng = np.random.default_rng(7)
    na, nb = len(roundoff_a), len(roundoff_b)
    xa, xb = rng.normal(50, 5, (na, 8)), rng.normal(52, 5, (nb, 8))
    for x in (xa, xb):
        x[:, 0] = rng.uniform(90, 110, len(x))  # firstorder_Maximum
        x[:, 1] = rng.uniform(-20, -10, len(x))  # firstorder_Minimum
    xa[:, 7], xb[:, 7] = roundoff_a, roundoff_b
    names = ["firstorder_Maximum", "firstorder_Minimum"] + [f"glcm_F{j}" for j in range(2, 7)]
    return xa, xb, [*names, "wavelet-HH_firstorder_Mean"]


def _frd(xa, xb, names, preset="v1") -> frd.FRDResult:
    s = resolve_settings(preset, engine="pyradiomics")
    return frd.frd_from_stats(FeatureStats.from_features(xa, names, s), FeatureStats.from_features(xb, names, s), s)


def test_roundoff_columns_carrying_d2_are_the_roundoff_case() -> None:
    rng = np.random.default_rng(1)
    xa, xb, names = _rows(rng.normal(0, 3e-14, 20), rng.normal(0, 3e-14, 20))
    cond = _frd(xa, xb, names).condition
    (col,) = cond["roundoff"]
    assert col["feature"] == names[-1] and col["max_abs_rel"] < ROUNDOFF_REL and col["used"]
    # v1 z-scores the round-off column to O(1): it carries a visible share of d²
    assert cond["roundoff_share_of_d2"] == col["share_of_d2"] > ENGINE_EXACT_SHARE
    assert cond["engine_exact"] is False
    assert cond["roundoff_rel"] == ROUNDOFF_REL


def test_small_but_real_columns_are_not_roundoff() -> None:
    rng = np.random.default_rng(1)
    xa, xb, names = _rows(rng.normal(0, 3e-6, 20), rng.normal(0, 3e-6, 20))  # 3e-8 of the intensity scale
    cond = _frd(xa, xb, names).condition
    assert cond["roundoff"] == [] and cond["roundoff_share_of_d2"] == 0.0 and cond["engine_exact"] is True


def test_roundoff_column_dropped_by_the_preset_carries_nothing() -> None:
    # Exactly constant in A (a power of two: its float32 mean and std are exact): v1's z-score divides
    # by 0 and the column is dropped, so the number is exact either way.
    rng = np.random.default_rng(1)
    xa, xb, names = _rows(np.full(20, 2.0**-46), rng.normal(0, 3e-14, 20))
    result = _frd(xa, xb, names)
    (col,) = result.condition["roundoff"]
    assert names[-1] not in result.features and col["used"] is False and col["share_of_d2"] == 0.0
    assert result.condition["engine_exact"] is True


def test_all_zero_columns_are_not_roundoff() -> None:
    xa, xb, names = _rows(np.zeros(20), np.zeros(20))
    assert _frd(xa, xb, names, "v0").condition["roundoff"] == []


def test_without_intensity_extremes_the_case_is_unknown() -> None:
    rng = np.random.default_rng(1)
    xa, xb, names = _rows(rng.normal(0, 3e-14, 20), rng.normal(0, 3e-14, 20))
    names = [n.replace("firstorder_M", "firstorder_Not") for n in names]
    cond = _frd(xa, xb, names).condition
    assert cond["roundoff"] is None and cond["roundoff_share_of_d2"] is None and cond["engine_exact"] is None
