"""Figures of a Table 1 run: a sample grid and lesion kinetics, real vs synthetic."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def sample_grid(data: Path, generated: Path, out: Path, n: int = 4) -> Path:
    """Rows: test slices; columns: pre-contrast, then real and synthetic for each phase."""
    from ccnet_zoo.data.layout import read_png
    from ccnet_zoo.pipeline.generate import read_manifest

    rows = read_manifest(generated)
    by_slice: dict[tuple[str, str], dict[int, dict[str, str]]] = defaultdict(dict)
    for r in rows:
        by_slice[(r["patient_id"], r["slice"])][int(r["phase"])] = r
    keys = sorted(by_slice, key=lambda k: (-len(by_slice[k]), k))[:n]
    phases = sorted({p for k in keys for p in by_slice[k]})
    plt = _plt()
    fig, axes = plt.subplots(
        len(keys), 1 + 2 * len(phases), figsize=(1.6 * (1 + 2 * len(phases)), 1.7 * len(keys)), squeeze=False
    )
    for i, key in enumerate(keys):
        first = next(iter(by_slice[key].values()))
        panels = [("pre", first["source"])]
        for p in phases:
            r = by_slice[key].get(p)
            panels += [(f"real p{p}", r["target"] if r else None), (f"CC-Net p{p}", r["generated"] if r else None)]
        for j, (title, path) in enumerate(panels):
            ax = axes[i][j]
            ax.axis("off")
            if path:
                ax.imshow(read_png(Path(path)), cmap="gray", vmin=0, vmax=255)
            if i == 0:
                ax.set_title(title, fontsize=8)
        axes[i][0].text(
            -0.05,
            0.5,
            f"{key[0]}\nslice {key[1]}",
            transform=axes[i][0].transAxes,
            fontsize=6,
            rotation=90,
            va="center",
            ha="right",
        )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def fit_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean mask resampled (nearest) to an image of ``shape``: real and synthetic images may differ in size."""
    if mask.shape == tuple(shape):
        return mask
    rows = np.minimum((np.arange(shape[0]) + 0.5) * mask.shape[0] / shape[0], mask.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(shape[1]) + 0.5) * mask.shape[1] / shape[1], mask.shape[1] - 1).astype(int)
    return mask[np.ix_(rows, cols)]


def kinetics_figure(generated: Path, out: Path) -> Path:
    """Mean lesion signal (inside the phantom's lesion masks) against acquisition time: real vs synthetic."""
    from ccnet_zoo.data.layout import read_png
    from ccnet_zoo.pipeline.generate import read_manifest

    series: dict[str, list[tuple[float, float]]] = {"real": [], "CC-Net": [], "pre-contrast": []}
    for r in read_manifest(generated):
        mask_path = r.get("segmentation_mask")
        if not mask_path or not Path(mask_path).is_file():
            continue
        mask = read_png(Path(mask_path)) > 127
        if not mask.any():
            continue
        t = float(r["acquisition_time"])
        for name, key in (("real", "target"), ("CC-Net", "generated"), ("pre-contrast", "source")):
            img = read_png(Path(r[key]))  # the model's size may differ from the data's (and the mask's)
            m = fit_mask(mask, img.shape)
            if m.any():
                series[name].append((t, float(img[m].mean())))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, pts in series.items():
        if not pts:
            continue
        t, v = np.array(pts).T
        bins = np.quantile(t, np.linspace(0, 1, 7))
        idx = np.clip(np.digitize(t, bins[1:-1]), 0, len(bins) - 2)
        centres = [t[idx == b].mean() for b in range(len(bins) - 1) if (idx == b).any()]
        means = [v[idx == b].mean() for b in range(len(bins) - 1) if (idx == b).any()]
        ax.scatter(t, v, s=6, alpha=0.25)
        ax.plot(centres, means, marker="o", label=name)
    ax.set_xlabel("acquisition time since pre-contrast (s)")
    ax.set_ylabel("mean lesion signal (0-255)")
    ax.set_title("Lesion enhancement: real vs CC-Net (test split)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
