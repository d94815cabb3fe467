"""Bootstrap, KID, FD∞ and matched sample counts: values, not just shapes."""

from __future__ import annotations

import numpy as np
import pytest

from frd.distance import frechet_distance
from frd.uncertainty import bootstrap, fd_inf, frechet_d2_rows, kid, match_sample_count


def _population(p=3):
    rng = np.random.default_rng(123)
    mu_b = rng.normal(0, 0.5, p)
    a = rng.normal(size=(p, p))
    cov_b = a @ a.T / p + 0.5 * np.eye(p)
    return mu_b, cov_b


def test_feature_space_and_image_space_resamples_agree():
    from frd.uncertainty import _d2_feature_space, _d2_from_grams

    rng = np.random.default_rng(2)
    xa, xb = rng.normal(size=(12, 4)), rng.normal(0.5, 1.3, size=(10, 4))
    w1 = rng.multinomial(12, np.full(12, 1 / 12), size=5).astype(float)
    w2 = rng.multinomial(10, np.full(10, 1 / 10), size=5).astype(float)
    grams = _d2_from_grams(xa @ xa.T, xb @ xb.T, xa @ xb.T, w1, w2)
    np.testing.assert_allclose(_d2_feature_space(xa, xb, w1, w2), grams, rtol=1e-9)


def test_gram_formulation_equals_the_covariance_formula():
    rng = np.random.default_rng(0)
    for n1, n2, p in ((30, 25, 50), (40, 60, 5)):
        ya, yb = rng.normal(size=(n1, p)), rng.normal(0.3, 1.2, size=(n2, p))
        direct = frechet_distance(ya.mean(0), np.cov(ya, rowvar=False), yb.mean(0), np.cov(yb, rowvar=False), "eigh")
        assert frechet_d2_rows(ya, yb) == pytest.approx(direct, rel=1e-10)


@pytest.mark.slow
def test_bootstrap_covers_the_population_value_at_about_the_nominal_rate():
    """Seeded simulation: 200 experiments of 2 x 300 draws from known Gaussians (p = 3)."""
    mu_b, cov_b = _population()
    true_d2 = frechet_distance(np.zeros(3), np.eye(3), mu_b, cov_b, "eigh")
    rng = np.random.default_rng(7)
    hits = 0
    reps = 200
    for r in range(reps):
        ya = rng.normal(size=(300, 3))
        yb = rng.multivariate_normal(mu_b, cov_b, size=300)
        ci = bootstrap(ya, yb, 200, seed=r, level=0.90)
        hits += ci.low <= true_d2 <= ci.high
    coverage = hits / reps
    assert 0.82 <= coverage <= 0.97, coverage  # nominal 0.90; binomial sd at 200 reps is 0.021


def test_bootstrap_is_seeded_and_log_transforms_the_interval():
    rng = np.random.default_rng(1)
    ya, yb = rng.normal(size=(40, 4)), rng.normal(1, 1, size=(40, 4))
    a, b = bootstrap(ya, yb, 100, seed=5), bootstrap(ya, yb, 100, seed=5)
    assert (a.low, a.high) == (b.low, b.high)
    lg = bootstrap(ya, yb, 100, seed=5, log=True)
    np.testing.assert_allclose(lg.samples, np.log(a.samples), rtol=1e-12)
    assert lg.low == pytest.approx(np.log(a.low), rel=1e-3) and lg.high == pytest.approx(np.log(a.high), rel=1e-3)


def test_kid_is_unbiased_on_identical_distributions():
    rng = np.random.default_rng(3)
    vals = [kid(rng.normal(size=(60, 5)), rng.normal(size=(60, 5)), subset_size=30, n_subsets=20, seed=s).mean
            for s in range(60)]  # fmt: skip
    mean, se = np.mean(vals), np.std(vals, ddof=1) / np.sqrt(len(vals))
    assert abs(mean) < 3 * se + 1e-12
    shifted = kid(rng.normal(size=(60, 5)), rng.normal(1, 1, size=(60, 5)), subset_size=30, n_subsets=20).mean
    assert shifted > mean + 10 * se


def test_fd_inf_removes_the_small_sample_bias():
    rng = np.random.default_rng(4)
    p = 20
    ya, yb = rng.normal(size=(120, p)), rng.normal(size=(120, p))  # same distribution: population d² = 0
    plain = frechet_d2_rows(ya, yb)
    inf = fd_inf(ya, yb, seed=1)
    assert plain > 2  # biased upward at finite N
    assert abs(inf.d2_inf) < plain / 3 and inf.slope > 0


def test_match_sample_count_is_seeded_and_equalises():
    ya, yb = np.arange(20.0)[:, None], np.arange(7.0)[:, None]
    a1, b1, ia, ib = match_sample_count(ya, yb, seed=2)
    a2, *_ = match_sample_count(ya, yb, seed=2)
    assert len(a1) == len(b1) == 7 and (a1 == a2).all() and list(ib) == list(range(7))
    assert len(set(ia)) == 7
