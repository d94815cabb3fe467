"""Confidence intervals over patients and the verdict of a baseline/model comparison.

Slices of one patient are not independent, so per-pair metrics (MSE, LPIPS, SSIM, MS-SSIM, PSNR) are resampled by
**patient** (a cluster bootstrap: draw patients with replacement, average every pair of the drawn patients). The
paired difference of two rows (e.g. the pre-contrast baseline and CC-Net of one phase) is computed per
(patient, slice) present in both, then bootstrapped the same way. Set metrics (FRD, FID): each cell keeps frd's
bootstrap (images resampled within each set); the comparison of two rows is a *paired* bootstrap over patients of
the difference (:func:`paired_set_difference`): one draw of patients, applied to both comparisons (they share the
real phase-k images), the set metric recomputed on each from the per-image rows kept by the metrics run
(:mod:`ccnet_zoo.metrics.set_rows`): FRD renormalized by frd's arithmetic on every draw, d² exact
(:mod:`ccnet_zoo.metrics.frechet_rows`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ccnet_zoo.metrics.errors import MetricsError
from ccnet_zoo.metrics.frechet_rows import RowPair
from ccnet_zoo.metrics.set_rows import SetRows

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


def patient_draws(n_groups: int, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(n_resamples, n_groups) float counts: how often each group (patient, in sorted order) is drawn when
    ``n_groups`` are drawn with replacement. The same seed gives every metric of a table the same resamples."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=n_resamples).astype(np.float64)


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
    draws = patient_draws(len(labels), n_resamples, seed)
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


def _score(d2: np.ndarray, rows: SetRows) -> np.ndarray:
    """frd's score of d²: round-off below 0 counts as 0 (as frd reports it), ln d² for presets with ``log``."""
    d2 = np.maximum(d2, 0.0)
    if not rows.log:
        return d2
    with np.errstate(divide="ignore"):
        return np.log(d2)


class _Scorer:
    """Scores of one comparison (one :class:`SetRows`) under patient draws, restricted to ``patients``."""

    def __init__(self, rows: SetRows, patients: Sequence[str]) -> None:
        index = {p: i for i, p in enumerate(patients)}
        keep = [np.array([p in index for p in side], dtype=bool) for side in (rows.real_patients, rows.synth_patients)]
        self.rows = rows
        self.x = (rows.real[keep[0]], rows.synth[keep[1]])
        self.gid = tuple(
            np.array([index[p] for p, k in zip(side, kp, strict=True) if k], dtype=np.intp)
            for side, kp in zip((rows.real_patients, rows.synth_patients), keep, strict=True)
        )
        self.stats: tuple[Any, Any] | None = None
        self.pair = RowPair(*self.x)  # fixed rows (FID): prepared once for every draw
        if rows.frd_settings is not None:
            from frd import FeatureStats

            self.settings = rows.settings()
            self.stats = tuple(  # type: ignore[assignment]
                FeatureStats.from_features(x, list(rows.names), self.settings) for x in self.x
            )

    def __call__(self, draws: np.ndarray) -> np.ndarray:
        """(B,) scores for (B, n_patients) draw counts: each row weighted by how often its patient was drawn."""
        w1, w2 = draws[:, self.gid[0]], draws[:, self.gid[1]]
        if self.stats is None:  # fixed rows (FID): every draw at once, exactly
            d2 = self.pair.d2(w1, w2, means_only=self.rows.means_only)
        else:  # FRD: each draw normalized on its own
            d2 = np.array([self._frd_d2(self.stats, a, b) for a, b in zip(w1, w2, strict=True)])
        return _score(d2, self.rows)

    def _frd_d2(self, stats: tuple[Any, Any], w1: np.ndarray, w2: np.ndarray) -> float:
        """FRD's d² of one draw: the drawn raw rows (repeated) normalized by frd's reference arithmetic (the
        preset's normalization recomputed on the draw, as for the reported value), then d² exactly."""
        from dataclasses import replace

        from frd.replay import normalize_sets

        # only the rows change: FeatureStats.from_features per draw would spend ~5 ms reading package versions
        sa, sb = (
            replace(s, rows=x[np.repeat(np.arange(len(x)), w.astype(np.intp))], row_paths=[])
            for s, x, w in zip(stats, self.x, (w1, w2), strict=True)
        )
        norm = normalize_sets(sa, sb, self.settings)
        ya, _ = norm.rows(sa, 0)
        yb, _ = norm.rows(sb, 1)
        one = (np.ones((1, len(ya))), np.ones((1, len(yb))))
        return float(RowPair.of(ya, yb).d2(*one, means_only=self.rows.means_only)[0])


def paired_set_difference(
    baseline: SetRows,
    model: SetRows,
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
    chunk: int = 250,
) -> tuple[float, Interval]:
    """``score(model) - score(baseline)`` of a set metric (FRD, FID) and its paired bootstrap interval.

    Patients present on every side of both comparisons are drawn with replacement (:func:`patient_draws`); one draw
    weights the rows of both comparisons, each row counted as often as its patient was drawn. Each comparison's
    score is recomputed on the draw as it was reported: FRD normalizes the drawn raw rows by frd's arithmetic
    (:func:`frd.replay.normalize_sets`) and takes d² exactly; FID takes d² of the drawn activations
    (:class:`~ccnet_zoo.metrics.frechet_rows.RowPair`). Rows of other patients are left out. Returns the difference
    on all shared patients (the reported values' difference when no patient is left out, up to the matrix square
    root's round-off) and the percentile interval; negative favours the model when lower is better.
    """
    sides = (baseline.real_patients, baseline.synth_patients, model.real_patients, model.synth_patients)
    patients = sorted(set.intersection(*(set(s) for s in sides)))
    if len(patients) < 2:
        raise MetricsError(f"the two comparisons share {len(patients)} patient(s); a paired bootstrap needs 2")
    scorers = (_Scorer(baseline, patients), _Scorer(model, patients))
    ones = np.ones((1, len(patients)))
    base0, model0 = (float(s(ones)[0]) for s in scorers)
    draws = patient_draws(len(patients), n_resamples, seed)
    parts = []
    for start in range(0, n_resamples, chunk):
        base, mod = (s(draws[start : start + chunk]) for s in scorers)
        parts.append(mod - base)
    diff = np.concatenate(parts)
    alpha = (1 - level) / 2
    with np.errstate(invalid="ignore"):  # ln 0 - ln 0 (identical sets under a log preset) is left out
        lo, hi = np.nanquantile(diff, [alpha, 1 - alpha])
    method = "paired bootstrap over patients of the difference (one draw for both comparisons)"
    n_rows = len(scorers[1].gid[1])  # the model's synthetic images of the shared patients
    return model0 - base0, Interval(float(lo), float(hi), level, n_resamples, seed, n_rows, len(patients), method)
