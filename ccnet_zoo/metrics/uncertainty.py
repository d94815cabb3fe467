"""Confidence intervals over patients and the verdict of a baseline/model comparison.

Slices of one patient are not independent, so per-pair metrics (MSE, LPIPS, SSIM, MS-SSIM, PSNR) are resampled by
**patient** (a cluster bootstrap: draw patients with replacement, average every pair of the drawn patients). The
paired difference of two rows (e.g. the pre-contrast baseline and CC-Net of one phase) is computed per
(patient, slice) present in both, then bootstrapped the same way. Set metrics (FRD, FID) take frd's bootstrap
(images resampled within each set); their rows share no resampling, so their verdict uses the conservative rule
that the two intervals do not overlap (which implies that the interval of the difference excludes 0).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ccnet_zoo.metrics.errors import MetricsError

LEVEL = 0.95
N_RESAMPLES = 2000
SEED = 0
#: cells with fewer pairs than this are marked in tables
MIN_PAIRS = 20
BETTER, WORSE, INCONCLUSIVE = "CC-Net better", "baseline better", "inconclusive"


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval of a mean over ``n`` values from ``n_groups`` patients."""

    low: float
    high: float
    level: float
    n_resamples: int
    seed: int
    n: int
    n_groups: int
    method: str = "cluster bootstrap over patients"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cluster_bootstrap(
    values: Sequence[float],
    groups: Sequence[Hashable],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Interval:
    """Interval of ``mean(values)`` resampling whole groups (patients) with replacement.

    >>> iv = cluster_bootstrap([1.0, 1.2, 3.0, 3.2], ["a", "a", "b", "b"], n_resamples=500)
    >>> 1.0 <= iv.low < iv.high <= 3.2
    True
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) != len(groups):
        raise MetricsError(f"{len(v)} values but {len(groups)} group labels")
    if len(v) == 0:
        raise MetricsError("no values to bootstrap")
    labels = sorted(set(groups), key=str)
    index = {g: i for i, g in enumerate(labels)}
    gid = np.array([index[g] for g in groups])
    sums = np.bincount(gid, weights=v, minlength=len(labels))
    counts = np.bincount(gid, minlength=len(labels)).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(labels), np.full(len(labels), 1 / len(labels)), size=n_resamples).astype(np.float64)
    with np.errstate(invalid="ignore"):
        means = (draws @ sums) / (draws @ counts)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(lo), float(hi), level, n_resamples, seed, len(v), len(labels))


def paired_difference(
    baseline: Mapping[tuple[str, int], float],
    model: Mapping[tuple[str, int], float],
    *,
    lower_is_better: bool,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> tuple[float, Interval]:
    """Mean and interval of the per-(patient, slice) improvement of ``model`` over ``baseline``.

    Improvement is ``baseline - model`` when lower is better, ``model - baseline`` otherwise, so a positive value
    always favours the model. Only keys present in both rows are used.
    """
    keys = sorted(set(baseline) & set(model))
    if not keys:
        raise MetricsError("the two rows share no (patient, slice) pair")
    sign = 1.0 if lower_is_better else -1.0
    diff = [sign * (float(baseline[k]) - float(model[k])) for k in keys]
    finite = [(d, k[0]) for d, k in zip(diff, keys, strict=True) if np.isfinite(d)]
    if not finite:
        raise MetricsError("no finite paired difference (e.g. PSNR of identical images is +inf)")
    vals, pats = zip(*finite, strict=True)
    iv = cluster_bootstrap(vals, pats, n_resamples=n_resamples, seed=seed, level=level)
    return float(np.mean(vals)), iv


def verdict_from_difference(low: float, high: float) -> str:
    """'CC-Net better' when the interval of the improvement lies above 0, 'baseline better' below, else
    'inconclusive'."""
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return INCONCLUSIVE


def verdict_from_intervals(baseline: tuple[float, float], model: tuple[float, float], *, lower_is_better: bool) -> str:
    """Set metrics: decided only when the two intervals do not overlap (conservative), else 'inconclusive'."""
    (b_lo, b_hi), (m_lo, m_hi) = baseline, model
    if lower_is_better:
        b_lo, b_hi, m_lo, m_hi = -b_hi, -b_lo, -m_hi, -m_lo
    if m_lo > b_hi:
        return BETTER
    if m_hi < b_lo:
        return WORSE
    return INCONCLUSIVE
