"""Sufficient statistics: merge equals batch, exact normalizations, safe save/load."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frd import FeatureStats, OutputExistsError, StatsMismatchError, resolve_settings
from frd.stats import normalize


def _matrix(seed: int, n: int, p: int, nan_frac: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.uniform(-1e3, 1e3, p), scale=rng.uniform(0.1, 10, p), size=(n, p))
    if nan_frac:
        x[rng.random((n, p)) < nan_frac] = np.nan
    return x


def _names(p):
    return [f"f{i}" for i in range(p)]


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 40), st.integers(1, 8), st.integers(1, 39), st.integers(0, 10_000))
def test_merge_equals_batch(n, p, cut, seed):
    cut = min(cut, n - 1)
    s = resolve_settings("v0")
    x = _matrix(seed, n, p, nan_frac=0.05)
    whole = FeatureStats.from_features(x, _names(p), s)
    merged = FeatureStats.from_features(x[:cut], _names(p), s).merge(FeatureStats.from_features(x[cut:], _names(p), s))
    mw, mm = whole.complete_moments(), merged.complete_moments()
    assert mm.n == mw.n
    np.testing.assert_allclose(mm.mean, mw.mean, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mm.scatter, mw.scatter, rtol=1e-9, atol=1e-7)
    np.testing.assert_array_equal(merged.nan_count, whole.nan_count)
    np.testing.assert_array_equal(np.fmin(merged.min, 0), np.fmin(whole.min, 0))


def _direct_minmax(xa, xb, ref, lo=0.0, hi=7.45670747756958):
    def norm(x, base):
        mn, mx = np.nanmin(base, axis=0), np.nanmax(base, axis=0)
        y = (x - mn) / (mx - mn) * (hi - lo) + lo
        y[np.isnan(y)] = (lo + hi) / 2
        return y

    if ref == "joint":
        base = np.vstack([xa, xb])
        ya, yb = norm(xa, base), norm(xb, base)
    elif ref == "d1":
        ya, yb = norm(xa, xa), norm(xb, xa)
    else:
        ya, yb = norm(xa, xa), norm(xb, xb)
    return ya, yb


@pytest.mark.parametrize("ref", ["joint", "d1", "independent"])
def test_minmax_with_nan_to_midrange_matches_direct(ref):
    xa, xb = _matrix(1, 30, 6, 0.1), _matrix(2, 25, 6, 0.1) * 1.1
    s = resolve_settings("v0", norm_ref=ref)
    norm = normalize(FeatureStats.from_features(xa, _names(6), s), FeatureStats.from_features(xb, _names(6), s), s)
    ya, yb = _direct_minmax(xa, xb, ref)
    np.testing.assert_allclose(norm.mu[0], ya.mean(0), rtol=1e-10)
    np.testing.assert_allclose(norm.mu[1], yb.mean(0), rtol=1e-10)
    np.testing.assert_allclose(norm.cov[0], np.cov(ya, rowvar=False), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(norm.cov[1], np.cov(yb, rowvar=False), rtol=1e-8, atol=1e-12)


def test_v1_zscore_on_first_set_drops_nan_rows_and_constant_columns():
    xa, xb = _matrix(3, 20, 5), _matrix(4, 15, 5)
    xa[:, 2] = 7.0  # constant in the first set: z-score undefined, column dropped
    xa[3, 1] = np.nan  # row dropped
    s = resolve_settings("v1")
    norm = normalize(FeatureStats.from_features(xa, _names(5), s), FeatureStats.from_features(xb, _names(5), s), s)
    assert norm.names == ["f0", "f1", "f3", "f4"] and "f2" in norm.dropped
    a32 = xa[~np.isnan(xa).any(1)].astype(np.float32).astype(np.float64)[:, [0, 1, 3, 4]]
    b32 = xb.astype(np.float32).astype(np.float64)[:, [0, 1, 3, 4]]
    m, sd = a32.mean(0), a32.std(0)
    np.testing.assert_allclose(norm.mu[1], ((b32 - m) / sd).mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(norm.cov[1], np.cov((b32 - m) / sd, rowvar=False), rtol=1e-9)
    assert norm.n == (19, 15)


def test_save_load_roundtrip_and_refuses_overwrite(tmp_path):
    s = resolve_settings("v0")
    st_ = FeatureStats.from_features(_matrix(5, 10, 4, 0.1), _names(4), s, paths=[f"p{i}" for i in range(10)])
    path = st_.save(tmp_path / "a.npz")
    before = path.read_bytes()
    back = FeatureStats.load(path)
    assert back.names == st_.names and back.n == st_.n and back.stats_hash == st_.stats_hash
    np.testing.assert_array_equal(back.scatter, st_.scatter)
    np.testing.assert_array_equal(back.nan_rows, st_.nan_rows)
    np.testing.assert_array_equal(back.rows, st_.rows)
    with pytest.raises(OutputExistsError):
        st_.save(path)
    assert path.read_bytes() == before


def test_reference_npz_is_rejected_with_reason(tmp_path):
    np.savez(tmp_path / "ref.npz", mu=np.zeros(3), sigma=np.eye(3))
    with pytest.raises(StatsMismatchError, match="not an frd statistics file"):
        FeatureStats.load(tmp_path / "ref.npz")


def test_mismatched_settings_are_an_error():
    x = _matrix(6, 10, 3)
    a = FeatureStats.from_features(x, _names(3), resolve_settings("v0"))
    b = FeatureStats.from_features(x, _names(3), resolve_settings("v0", bin_width=10))
    with pytest.raises(StatsMismatchError):
        a.merge(b)
