"""Out-of-distribution detection with radiomic features (FRD paper, Algorithm 1), done carefully.

Image level: REF is split (seeded) into a fitting part and a held-out part. Features are z-scored
with the fitting part's mean and std; an image's score is its Euclidean distance to the fitting
part's mean. The threshold is the ``level`` quantile of the held-out scores, so it is not chosen
on the images that defined the mean (the reference's default does that), and the p-value is the
share of held-out scores at least as large, with the +1 correction (never 0).
Dataset level: the AUC of TEST scores against held-out REF scores, and nFRD = 2·|AUC − 0.5|.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import create_new
from .errors import TooFewImagesError
from .stats import FeatureStats


@dataclass
class OODResult:
    """Per-image rows (every TEST input, skipped ones included) and the dataset-level numbers."""

    rows: list[dict[str, object]]
    threshold: float
    auc: float
    nfrd: float
    n_fit: int
    n_heldout: int
    level: float
    seed: int

    @property
    def n_ood(self) -> int:
        return sum(1 for r in self.rows if r["ood"] is True)


def _finite_rows(s: FeatureStats) -> tuple[np.ndarray, list[str]]:
    if s.rows is None:
        raise TooFewImagesError("OOD detection needs per-image features; pass images, not statistics files")
    ok = np.isfinite(s.rows).all(axis=1)
    paths = s.row_paths or [f"#{i}" for i in range(len(ok))]
    return s.rows[ok], [p for p, k in zip(paths, ok, strict=True) if k]


def auc(neg: np.ndarray, pos: np.ndarray) -> float:
    """P(score of pos > score of neg), ties counted half (Mann–Whitney U / (n·m))."""
    scores = np.concatenate([neg, pos])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[len(neg) :].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(neg) * len(pos)))


def detect_ood(
    ref: FeatureStats, test: FeatureStats, *, val_frac: float = 0.2, level: float = 0.95, seed: int = 0
) -> OODResult:
    """Score every TEST image against REF (see the module docstring)."""
    x_ref, _ = _finite_rows(ref)
    x_test, test_paths = _finite_rows(test)
    n = len(x_ref)
    n_held = max(2, round(n * val_frac))
    if n - n_held < 2:
        raise TooFewImagesError(f"REF has {n} usable images; OOD needs at least {n_held + 2} (fit + held-out)")
    perm = np.random.default_rng(seed).permutation(n)
    fit, held = x_ref[perm[n_held:]], x_ref[perm[:n_held]]
    mean, std = fit.mean(axis=0), fit.std(axis=0)
    keep = std > 0
    z = lambda x: (x[:, keep] - mean[keep]) / std[keep]  # noqa: E731
    s_held = np.linalg.norm(z(held), axis=1)
    s_test = np.linalg.norm(z(x_test), axis=1)
    threshold = float(np.quantile(s_held, level))
    a = auc(s_held, s_test)
    by_path = {
        p: (float(s), float((1 + np.sum(s_held >= s)) / (1 + len(s_held))))
        for p, s in zip(test_paths, s_test, strict=True)
    }
    rows: list[dict[str, object]] = []
    for p in test.row_paths or test_paths:
        if p in by_path:
            score, pval = by_path[p]
            rows.append({"filename": p, "ood_score": score, "ood": score > threshold, "p_value": pval, "status": "ok"})
        else:
            rows.append({"filename": p, "ood_score": "", "ood": "", "p_value": "", "status": "skipped: NaN feature"})
    for sk in test.skipped:
        rows.append(
            {"filename": sk["path"], "ood_score": "", "ood": "", "p_value": "", "status": f"skipped: {sk['reason']}"}
        )
    return OODResult(rows, threshold, a, 2 * abs(a - 0.5), len(fit), len(held), level, seed)


def write_csv(result: OODResult, path: str | Path) -> Path:
    """Write the per-image rows; refuses to overwrite, atomic."""

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=["filename", "ood_score", "ood", "p_value", "status"])
            w.writeheader()
            w.writerows(result.rows)

    return create_new(path, write)
