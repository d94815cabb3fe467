"""The reference's arithmetic, replayed on the per-image rows.

frd-score 1.0.1 (``calculate_feature_statistics``) normalizes the matrix of raw features with numpy
and takes ``np.mean`` / ``np.cov`` of the result. Float64 moments give the same numbers up to
round-off only where the columns are well conditioned: a column that is constant up to round-off
turns ``(x − min) / (max − min) · R`` into amplified round-off that an affine map of the moments
(``scale · x + offset`` with a huge ``scale``) cannot reproduce, and v1 works in float32. So when
the rows are known (folders, lists, statistics files), the presets' number comes from here: the
same dtype casts, the same operations in the same order, the same constant/NaN/Inf handling and
column drops. ``--robust`` changes two steps and is never used by the presets' numbers.
"""

from __future__ import annotations

import warnings

import numpy as np

from .errors import FRDError
from .settings import Settings
from .stats import FeatureStats, Normalized, near_constant, normalize, robust_den


def _nan_reduce(fn: object, x: np.ndarray) -> np.ndarray:
    # All-NaN columns give NaN (with a RuntimeWarning the reference ignores too).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(x, axis=0)  # type: ignore[operator]


def _minmax(x: np.ndarray, base: np.ndarray, lo: float, hi: float, den_floor: np.ndarray | None) -> np.ndarray:
    """frd_score.frd.min_max_normalize, column by column in its order of operations."""
    mn, mx = _nan_reduce(np.nanmin, base), _nan_reduce(np.nanmax, base)
    y = np.copy(x)
    with np.errstate(all="ignore"):
        den = mx - mn
        if den_floor is not None:
            den = robust_den(den, den_floor)
        for j in range(x.shape[1]):
            if np.isnan(mn[j]) or np.isnan(mx[j]):
                continue
            if den[j] == 0:
                y[:, j] = 0.5 * (float(hi) - float(lo)) + float(lo)
            else:
                y[:, j] = ((x[:, j] - mn[j]) / den[j]) * (float(hi) - float(lo)) + float(lo)
    y[np.isnan(y)] = (lo + hi) / 2
    return y


def _zscore(
    x: np.ndarray, base: np.ndarray, lo: float, hi: float, compat: bool, den_floor: np.ndarray | None
) -> np.ndarray:
    """frd_score.frd.z_score_normalize; ``compat`` is v1's variant (no std-0 guard, NaN kept)."""
    mean, std = _nan_reduce(np.nanmean, base), _nan_reduce(np.nanstd, base)
    if den_floor is not None:
        std = robust_den(std, den_floor).astype(std.dtype)
    y = np.copy(x)
    with np.errstate(all="ignore"):
        for j in range(x.shape[1]):
            if np.isnan(mean[j]) or np.isnan(std[j]):
                continue
            if std[j] == 0 and not compat:
                y[:, j] = 0 + float(lo)
            else:
                y[:, j] = ((x[:, j] - mean[j]) / std[j]) * (float(hi) - float(lo)) + float(lo)
    if not compat:
        y[np.isnan(y)] = (float(lo) + float(hi)) / 2
    return y


def _moments(ys: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return [np.mean(y, axis=0) for y in ys], [np.cov(y, rowvar=False) for y in ys]


def replay(a: FeatureStats, b: FeatureStats, settings: Settings) -> Normalized:
    """Normalized means and covariances of both sets, computed as frd-score 1.0.1 computes them."""
    a.check_compatible(b)
    if a.rows is None or b.rows is None:
        raise FRDError("the reference arithmetic needs the per-image rows")
    lo, hi = (float(v) for v in settings.norm_range)
    xs, idx = [], []
    for s in (a, b):
        x = np.asarray(s.rows, np.float64)
        keep_rows = np.arange(x.shape[0])
        if settings.drop_nan_rows:
            # v1 drops every image with a NaN feature, then casts to float32 (pandas dropna + astype).
            ok = ~np.isnan(x).any(axis=1)
            x, keep_rows = x[ok], keep_rows[ok]
        if settings.float32_features:
            x = x.astype(np.float32)
        xs.append(x)
        idx.append(keep_rows)
    p = a.p
    if settings.norm_ref == "joint":
        bases = [np.concatenate(xs, axis=0)] * 2
    elif settings.norm_ref == "d1":
        bases = [xs[0]] * 2
    else:
        bases = list(xs)

    drop_cols = np.zeros(p, dtype=bool)
    dropped: dict[str, str] = {}
    floors: list[np.ndarray | None] = [None, None]
    if settings.robust:
        both = np.concatenate(xs, axis=0).astype(np.float64)
        for base in bases:
            mn, mx = _nan_reduce(np.nanmin, base), _nan_reduce(np.nanmax, base)
            flat = (near_constant(mn, mx) | (mx == mn)) & ~drop_cols
            for j in np.flatnonzero(flat):
                dropped[a.names[j]] = "near-constant in the reference set (--robust)"
            drop_cols |= flat
        if settings.norm_type == "zscore":
            floor = _nan_reduce(np.nanstd, both)
        else:
            floor = _nan_reduce(np.nanmax, both) - _nan_reduce(np.nanmin, both)
        floors = [floor, floor]

    compat = settings.drop_nonfinite_columns
    ys = []
    for x, base, floor in zip(xs, bases, floors, strict=True):
        if settings.norm_type == "minmax":
            ys.append(_minmax(x, base, lo, hi, floor))
        else:
            ys.append(_zscore(x, base, lo, hi, compat, floor))
    if drop_cols.any():
        ys = [y[:, ~drop_cols] for y in ys]
    names = [n for n, d in zip(a.names, drop_cols, strict=True) if not d]
    keep = ~drop_cols
    if compat:
        bad = np.zeros(ys[0].shape[1], dtype=bool)
        for y in ys:
            bad |= np.isnan(y).any(axis=0) | np.isinf(y).any(axis=0)
        if bad.any():
            std_a = _nan_reduce(np.nanstd, bases[0])[keep]
            for j in np.flatnonzero(bad):
                ref = "the first set" if settings.norm_ref == "d1" else "the reference set"
                dropped[names[j]] = (
                    f"constant in {ref} (std 0): z-score undefined"
                    if std_a[j] == 0
                    else "NaN or Inf after normalization (dropped as the reference does)"
                )
            ys = [y[:, ~bad] for y in ys]
            names = [n for n, d in zip(names, bad, strict=True) if not d]
            keep[np.flatnonzero(keep)[bad]] = False
    mus, covs = _moments(ys)
    ones = np.ones(p)
    return Normalized(
        mu=(mus[0], mus[1]),
        cov=(np.atleast_2d(covs[0]), np.atleast_2d(covs[1])),
        n=(ys[0].shape[0], ys[1].shape[0]),
        names=names,
        dropped=dropped,
        scales=(ones, ones),
        offsets=(0 * ones, 0 * ones),
        keep=keep,
        mid=(lo + hi) / 2,
        drop_nan_rows=settings.drop_nan_rows,
        arithmetic="reference",
        normalized=(ys[0], ys[1]),
        row_index=(idx[0], idx[1]),
    )


def normalize_sets(a: FeatureStats, b: FeatureStats, settings: Settings) -> Normalized:
    """The reference's arithmetic when both sets have their rows, float64 moments otherwise."""
    if a.rows is not None and b.rows is not None:
        return replay(a, b, settings)
    return normalize(a, b, settings)
