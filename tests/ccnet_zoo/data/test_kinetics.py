"""Physics of the kinetics module: Parker AIF, extended Tofts, SPGR signal, curve types."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import fftconvolve

from ccnet_zoo.data.phantom.kinetics import (
    classify_curve,
    extended_tofts,
    parker_blood_aif,
    plasma_aif,
    r1_with_contrast,
    spgr_signal,
    time_grid,
)
from ccnet_zoo.data.phantom.scanner import noise_sigma, relaxivity


def test_parker_aif_shape_and_dose() -> None:
    t = time_grid(600.0, 0.5)
    cb = parker_blood_aif(t)
    assert abs(t[np.argmax(cb)] - 10.2) < 1.5  # first-pass peak at T1 = 0.17046 min
    assert 5.0 < cb.max() < 7.0
    assert parker_blood_aif(np.array([-5.0]))[0] == 0.0
    # recirculation + washout: at 5 min the sigmoid-exponential term dominates (1.05 e^{-0.1685*5} mM)
    assert parker_blood_aif(np.array([300.0]))[0] == pytest.approx(1.05 * np.exp(-0.1685 * 5), rel=0.02)
    np.testing.assert_allclose(parker_blood_aif(t, 2.0), 2.0 * cb)
    np.testing.assert_allclose(plasma_aif(t), cb / 0.58)


def test_extended_tofts_matches_direct_convolution() -> None:
    t = time_grid(600.0, 0.5)
    cp = plasma_aif(t)
    kt, ve, vp = 0.3, 0.4, 0.05
    a, b = extended_tofts(t, cp, kt, ve, vp)
    kep = kt / ve / 60.0
    fine = time_grid(600.0, 0.01)  # reference: brute-force convolution on a 50x finer grid
    cpf = plasma_aif(fine)
    direct = kt / 60.0 * fftconvolve(cpf, np.exp(-kep * fine))[: fine.size] * 0.01
    np.testing.assert_allclose(a, vp * cp)
    assert np.max(np.abs(b - direct[::50])) < 0.01 * b.max()


def test_extended_tofts_steady_state_and_zero_ktrans() -> None:
    t = time_grid(3600.0, 1.0)
    cp = np.ones_like(t)
    _a, b = extended_tofts(t, cp, 0.5, 0.25, 0.02)
    assert b[-1] == pytest.approx(0.25, rel=1e-3)  # EES fills to ve * Cp
    _, b0 = extended_tofts(t, cp, 0.0, 0.25, 0.02)
    assert not b0.any()
    with pytest.raises(ValueError):
        extended_tofts(t, cp, 0.1, 1.5, 0.0)


def test_spgr_signal_t1_shortening_and_ernst_angle() -> None:
    r10 = 1.0 / 1.3
    s0 = spgr_signal(1.0, r10, 0.005, 10.0)
    s1 = spgr_signal(1.0, r1_with_contrast(r10, 0.5, 4.1), 0.005, 10.0)
    assert s1 > 2.0 * s0  # 0.5 mM Gd-DTPA roughly triples R1
    e1 = np.exp(-0.005 * r10)
    assert s0 == pytest.approx(np.sin(np.deg2rad(10)) * (1 - e1) / (1 - np.cos(np.deg2rad(10)) * e1))
    flips = np.linspace(1, 30, 300)
    ernst = np.rad2deg(np.arccos(e1))
    assert abs(flips[np.argmax([spgr_signal(1.0, r10, 0.005, f) for f in flips])] - ernst) < 0.2


def test_curve_type_thresholds() -> None:
    assert classify_curve(1.0, 1.2) == "persistent"
    assert classify_curve(1.0, 1.05) == "plateau"
    assert classify_curve(1.0, 0.95) == "plateau"
    assert classify_curve(1.0, 0.8) == "washout"


def test_field_strength_noise_and_relaxivity() -> None:
    assert noise_sigma(3.0) == pytest.approx(noise_sigma(1.5) / 2)
    assert relaxivity("MULTIHANCE", 1.5) > relaxivity("MAGNEVIST", 1.5)
    assert relaxivity("MAGNEVIST", 3.0) < relaxivity("MAGNEVIST", 1.5)
    assert relaxivity("", 1.5) == relaxivity("MAGNEVIST", 1.5)
