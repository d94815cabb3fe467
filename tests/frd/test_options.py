"""Typed options: keywords and typed objects give one run; the preset registry's old import path works."""

from __future__ import annotations

import pytest

import frd
from frd.options import Analysis, resolve_options


def test_keywords_and_typed_settings_give_the_same_run(png_sets):
    by_keywords = frd.compute_frd(*png_sets, "v0", bin_width=10, norm_ref="d1", bootstrap=20, seed=3, kid=True)
    settings = frd.resolve_settings("v0", bin_width=10, norm_ref="d1")
    typed = frd.compute_frd(*png_sets, settings, analysis=Analysis(bootstrap=20, seed=3, kid=True))
    assert typed.frd == by_keywords.frd and typed.settings_hash == by_keywords.settings_hash
    assert typed.ci == by_keywords.ci and typed.kid == by_keywords.kid
    assert by_keywords.settings["params_2d"]["setting"]["binWidth"] == 10


def test_resolve_options_splits_and_refuses_what_would_not_apply():
    settings, analysis = resolve_options("v1", {"sqrtm": "eigh", "level": 0.9, "log": None})
    assert settings.sqrtm == "eigh" and settings.log is True and analysis == Analysis(level=0.9)
    with pytest.raises(frd.SettingsError, match=r"unknown option.*bin_witdh"):
        resolve_options("v1", {"bin_witdh": 3})
    with pytest.raises(frd.SettingsError, match="bin_width given with resolved Settings"):
        resolve_options(frd.resolve_settings("v0"), {"bin_width": 3})
    with pytest.raises(frd.SettingsError, match="seed given together with an Analysis"):
        resolve_options("v0", {"seed": 1}, Analysis())
    with pytest.raises(frd.SettingsError, match="unknown option"):
        frd.FRD("v0", bogus=1)


def test_preset_registry_moved_and_old_import_path_kept():
    from frd import defaults, presets

    assert defaults.PRESETS is presets.PRESETS is frd.PRESETS
    assert defaults.Preset is presets.Preset and defaults.DEFAULT_PRESET == presets.DEFAULT_PRESET == "v1"
    assert defaults.V1_GLCM_FEATURES is presets.V1_GLCM_FEATURES
    # defaults keeps the policy that is not about presets
    assert callable(defaults.default_workers) and defaults.MIN_IMAGES == 2
    assert not hasattr(presets, "default_workers")
