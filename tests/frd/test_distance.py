"""Properties of the Fréchet distance (hypothesis) and its agreement with closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from frd import frechet_distance, frechet_terms


def _cov(seed: int, p: int, n: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, p))
    return np.cov(x, rowvar=False).reshape(p, p)


@st.composite
def gaussians(draw, rank_deficient: bool = False):
    p = draw(st.integers(2, 12))
    n = draw(st.integers(2, p)) if rank_deficient else draw(st.integers(p + 2, 3 * p + 5))
    s1, s2 = draw(st.integers(0, 2**31)), draw(st.integers(0, 2**31))
    rng = np.random.default_rng(s1 ^ s2)
    return rng.normal(size=p), _cov(s1, p, n), rng.normal(size=p), _cov(s2, p, n)


@settings(max_examples=60, deadline=None)
@given(gaussians())
def test_symmetric_and_nonnegative(g):
    mu1, s1, mu2, s2 = g
    for method in ("scipy", "eigh"):
        d12 = frechet_distance(mu1, s1, mu2, s2, method=method)
        d21 = frechet_distance(mu2, s2, mu1, s1, method=method)
        assert d12 == pytest.approx(d21, rel=1e-7, abs=1e-9)
        assert d12 > -1e-9


@settings(max_examples=60, deadline=None)
@given(gaussians(rank_deficient=True))
def test_rank_deficient_is_finite_real_and_methods_agree(g):
    mu1, s1, mu2, s2 = g
    a = frechet_terms(mu1, s1, mu2, s2, method="scipy")
    b = frechet_terms(mu1, s1, mu2, s2, method="eigh")
    assert isinstance(a.d2, float) and np.isfinite(a.d2)
    assert isinstance(b.d2, float) and np.isfinite(b.d2) and b.d2 >= -1e-9
    scale = np.trace(s1) + np.trace(s2) + a.mean_term + 1e-12
    assert abs(a.d2 - b.d2) / scale < 1e-5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 100), min_size=1, max_size=10), st.integers(0, 1000))
def test_diagonal_closed_form(var1, seed):
    rng = np.random.default_rng(seed)
    v1 = np.array(var1)
    v2 = rng.uniform(0.01, 100, size=v1.size)
    mu1, mu2 = rng.normal(size=v1.size), rng.normal(size=v1.size)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    for method in ("scipy", "eigh"):
        assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2), method=method) == pytest.approx(expected, rel=1e-9)


def test_identical_gaussians_give_zero():
    s = _cov(1, 5, 50)
    mu = np.arange(5.0)
    assert frechet_distance(mu, s, mu, s, method="eigh") == pytest.approx(0, abs=1e-9)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0, abs=1e-9)


def test_matches_the_textbook_formula_full_rank():
    s1, s2 = _cov(1, 6, 40), _cov(2, 6, 40)
    mu1, mu2 = np.ones(6), np.zeros(6)
    expected = 6 + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-12)


def test_means_only_and_terms_add_up():
    s1, s2 = _cov(3, 4, 30), _cov(4, 4, 30)
    t = frechet_terms(np.zeros(4), s1, np.ones(4), s2)
    assert t.mean_term == pytest.approx(4.0)
    assert t.d2 == pytest.approx(t.mean_term + t.trace_term)
    assert frechet_terms(np.zeros(4), s1, np.ones(4), s2, means_only=True).d2 == pytest.approx(4.0)


@pytest.mark.parametrize("bad", ["nan_mu", "shape", "inf_cov"])
def test_bad_input_raises(bad):
    mu, s = np.zeros(3), np.eye(3)
    if bad == "nan_mu":
        args = (np.array([0, np.nan, 0]), s, mu, s)
    elif bad == "shape":
        args = (mu, s, np.zeros(4), np.eye(4))
    else:
        args = (mu, s, mu, np.full((3, 3), np.inf))
    with pytest.raises(ValueError):
        frechet_distance(*args)
