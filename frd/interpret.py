"""Which features make the distance: per-feature contributions, plots and typical images.

d² splits exactly into per-feature parts: the mean term is Σⱼ (μ₁ⱼ − μ₂ⱼ)², and the trace term is
Σⱼ [Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½]ⱼⱼ because the trace is a sum of diagonal entries. The split of the trace
term depends on the basis (it is not unique), but it always adds up to d².
"""

from __future__ import annotations

import csv
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._extras import install_command
from .errors import FRDError, OutputExistsError
from .replay import normalize_sets
from .settings import Settings
from .stats import FeatureStats

log = logging.getLogger(__name__)

CONTRIBUTIONS_CSV = "feature_contributions.csv"
PLOTS = ("sorted_feature_differences.png", "embedding.png", "typical_images.png")


@dataclass
class Interpretation:
    """Per-feature contributions (sorted, largest first) and the files written."""

    features: list[str]
    mean_term: np.ndarray
    cov_term: np.ndarray
    d2: float
    files: list[Path]
    typical: list[str]
    atypical: list[str]

    @property
    def total(self) -> np.ndarray:
        return self.mean_term + self.cov_term

    def top(self, k: int = 20) -> list[tuple[str, float]]:
        return [(f, float(t)) for f, t in zip(self.features[:k], self.total[:k], strict=False)]


def contributions(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and covariance parts of d² (they sum to d² computed with scipy's sqrtm)."""
    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(root).all():
        eye = np.eye(s1.shape[0]) * 1e-6
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = linalg.sqrtm((s1 + eye) @ (s2 + eye))
    mean_part = (mu1 - mu2) ** 2
    cov_part = np.diag(s1) + np.diag(s2) - 2 * np.real(np.diag(root))
    return mean_part, cov_part


def interpret(
    a: FeatureStats,
    b: FeatureStats,
    settings: Settings,
    out_dir: str | Path,
    *,
    top: int = 20,
    thumbs: int = 6,
    seed: int = 0,
    show_names: bool = False,
) -> Interpretation:
    """Write the contributions CSV and the three plots into ``out_dir`` (which must not hold them).

    The thumbnails are titled with their rank among B's images; ``show_names`` titles them with
    their file names instead (names can identify patients).
    """
    out = Path(out_dir)
    targets = [out / CONTRIBUTIONS_CSV, *(out / p for p in PLOTS)]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise OutputExistsError(f"{', '.join(existing)} exist(s); choose another --out folder")
    norm = normalize_sets(a, b, settings)
    ya, _ = norm.rows(a, 0)
    yb, pb = norm.rows(b, 1)
    mu_a, mu_b = (np.asarray(m, np.float64) for m in norm.mu)
    mean_part, cov_part = contributions(mu_a, norm.cov[0], mu_b, norm.cov[1])
    order = np.argsort(-(mean_part + cov_part), kind="stable")
    names = [norm.names[i] for i in order]
    out.mkdir(parents=True, exist_ok=True)
    d2 = float((mean_part + cov_part).sum())
    with open(out / CONTRIBUTIONS_CSV, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["rank", "feature", "mean_a", "mean_b", "mean_term", "cov_term", "total", "share_of_d2"])
        for rank, i in enumerate(order, 1):
            total = mean_part[i] + cov_part[i]
            w.writerow(
                [
                    rank,
                    norm.names[i],
                    norm.mu[0][i],
                    norm.mu[1][i],
                    mean_part[i],
                    cov_part[i],
                    total,
                    total / d2 if d2 else float("nan"),
                ]
            )
    # How typical is each image of B for A: distance to A's mean in the normalized feature space.
    dist = np.linalg.norm(yb - mu_a, axis=1)
    ranked = [pb[i] for i in np.argsort(dist, kind="stable")]
    k = min(thumbs, len(ranked) // 2) or 1
    result = Interpretation(
        features=names,
        mean_term=mean_part[order],
        cov_term=cov_part[order],
        d2=d2,
        files=[out / CONTRIBUTIONS_CSV],
        typical=ranked[:k],
        atypical=ranked[::-1][:k],
    )
    result.files += _plots(result, ya, yb, out, top, seed, show_names)
    return result


def _plots(
    res: Interpretation, ya: np.ndarray, yb: np.ndarray, out: Path, top: int, seed: int, show_names: bool
) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise FRDError(f"the plots need matplotlib: {install_command('interpret')}") from exc
    files = []

    k = min(top, len(res.features))
    fig, ax = plt.subplots(figsize=(8, 0.3 * k + 1.5))
    y = np.arange(k)[::-1]
    ax.barh(y, res.mean_term[:k], color="#3b75af", label="mean shift (μ_A − μ_B)²")
    ax.barh(y, res.cov_term[:k], left=res.mean_term[:k], color="#ef8636", label="covariance part")
    ax.set_yticks(y, [f[:60] for f in res.features[:k]], fontsize=7)
    ax.set_xlabel("contribution to d² (normalized features)")
    ax.set_title(f"Top {k} features of d² = {res.d2:.4g}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    files.append(out / PLOTS[0])
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)

    both = np.vstack([ya, yb])
    centred = both - both.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pca = centred @ vt[:2].T
    panels: list[tuple[str, np.ndarray]] = [("PCA", pca)]
    try:
        from sklearn.manifold import TSNE

        perplexity = float(max(2, min(30, (len(both) - 1) // 3)))
        panels.append(("t-SNE", TSNE(2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(both)))
    except ImportError:
        log.info("scikit-learn not installed: PCA only")
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), squeeze=False)
    for ax, (title, emb) in zip(axes[0], panels, strict=True):
        ax.scatter(*emb[: len(ya)].T, s=12, alpha=0.7, label=f"A (n={len(ya)})")
        ax.scatter(*emb[len(ya) :].T, s=12, alpha=0.7, label=f"B (n={len(yb)})")
        ax.set_title(f"{title} of normalized radiomic features")
        ax.legend(fontsize=8)
    fig.tight_layout()
    files.append(out / PLOTS[1])
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)

    files.append(_thumbnails(res, out / PLOTS[2], plt, show_names))
    return files


def _thumbnail(path: str) -> np.ndarray | None:
    from .io import read_image

    try:
        import SimpleITK as sitk

        arr = sitk.GetArrayFromImage(read_image(path)).astype(np.float64)
    except Exception:  # a thumbnail is a nicety: an unreadable one is left blank
        return None
    if arr.ndim == 3:
        arr = arr[arr.shape[0] // 2]
    return arr


def _thumbnails(res: Interpretation, target: Path, plt: Any, show_names: bool) -> Path:
    rows = [("most typical of A", res.typical), ("least typical of A", res.atypical)]
    k = max(len(res.typical), 1)
    fig, axes = plt.subplots(2, k, figsize=(2.2 * k, 5), squeeze=False)
    for r, (title, paths) in enumerate(rows):
        for c in range(k):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(paths):
                img = _thumbnail(paths[c])
                if img is not None:
                    ax.imshow(img, cmap="gray")
                if show_names:
                    name = Path(paths[c]).name
                    ax.set_title(name if len(name) <= 26 else "…" + name[-25:], fontsize=7)
                else:
                    ax.set_title(f"B, rank {c + 1}" if r == 0 else f"B, rank -{c + 1}", fontsize=7)
        axes[r][0].text(-0.1, 0.5, title, transform=axes[r][0].transAxes, rotation=90, va="center", ha="right")
    fig.suptitle("Images of B, by distance to A's mean in normalized feature space")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
