"""Figures of a Table 1 run, drawn for a breast radiologist.

* ``sample_grid.png``: several lesion-bearing test patients, one slice each (the slice with the largest lesion).
  Per patient three rows — real subtraction (post − pre), CC-Net subtraction (synthetic post − real pre), and
  |real − CC-Net| of the post-contrast images — one column per phase, the lesion contour on every panel. The two
  subtraction rows share **one window per patient** (symmetric, covering every phase of both rows), so real and
  synthetic enhancement are read on the same scale; the |difference| row has its own per-patient window.
* ``kinetics.png``: lesion kinetics as relative enhancement (S(t) − S0) / S0 — S the mean signal inside the lesion
  mask, S0 on the pre-contrast slice — binned by acquisition time, mean and 95 % interval per bin (bootstrap over
  patients), real vs CC-Net.

Intensities are the stored PNG values (0..255). Table 1's phantom stores one min-max window per patient across
pre and post phases, so S(t) − S0 is a real signal change; with per-phase scaling (Duke, CC-Net's convention)
S(t) and S0 come from differently scaled images and the curve only compares real with synthetic on one footing.
Each bin also carries the mean lesion grey level ("signal"), the quantity of issue 11's within-15-levels check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.uncertainty import cluster_bootstrap

Row = Mapping[str, str]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _read(path: str) -> NDArray[np.float64]:
    from ccnet_zoo.data.layout import read_png

    return read_png(Path(path)).astype(np.float64)


def _mask(row: Row) -> NDArray[np.bool_] | None:
    path = row.get("segmentation_mask")
    if not path or not Path(path).is_file():
        return None
    m = _read(path) > 127
    return m if m.any() else None


def _by_slice(generated: Path) -> dict[tuple[str, str], dict[int, Row]]:
    from ccnet_zoo.pipeline.generate import read_manifest

    out: dict[tuple[str, str], dict[int, Row]] = defaultdict(dict)
    for r in read_manifest(generated):
        out[(r["patient_id"], r["slice"])][int(r["phase"])] = r
    return out


def lesion_cases(generated: Path, n: int = 4) -> list[tuple[str, str]]:
    """Up to ``n`` patients with a lesion, one slice each (largest lesion area), largest lesions first."""
    best: dict[str, tuple[int, tuple[str, str]]] = {}
    for key, phases in _by_slice(generated).items():
        mask = _mask(next(iter(phases.values())))
        if mask is not None and (key[0] not in best or mask.sum() > best[key[0]][0]):
            best[key[0]] = (int(mask.sum()), key)
    return [key for _, key in sorted(best.values(), key=lambda x: (-x[0], x[1]))[:n]]


def subtraction_panels(phases: Mapping[int, Row]) -> dict[str, Any]:
    """Arrays of one slice: pre, real and synthetic subtractions, |real − synthetic|, their windows and the mask."""
    first = next(iter(phases.values()))
    pre = _read(first["source"])
    real = {k: _read(r["target"]) for k, r in sorted(phases.items())}
    synth = {k: fit_mask(_read(r["generated"]), pre.shape) for k, r in sorted(phases.items())}
    real_sub = {k: v - pre for k, v in real.items()}
    synth_sub = {k: v - pre for k, v in synth.items()}
    diff = {k: np.abs(real[k] - synth[k]) for k in real}
    window = max(1.0, *(float(np.abs(v).max()) for v in (*real_sub.values(), *synth_sub.values())))
    times = {k: r.get("acquisition_time", "") for k, r in phases.items()}
    diff_max = max(1.0, *(float(v.max()) for v in diff.values()))
    return {
        "pre": pre,
        "real_sub": real_sub,
        "synth_sub": synth_sub,
        "diff": diff,
        "window": window,
        "diff_max": diff_max,
        "mask": _mask(first),
        "times": times,
    }


def intensity_note(data: Path) -> str:
    """How the dataset's PNGs were scaled, from its ``dataset.json`` (a phantom's ``intensity`` setting)."""
    import json

    try:
        manifest = json.loads((Path(data) / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    config = manifest.get("config") if isinstance(manifest, dict) else None
    if isinstance(config, dict) and config.get("intensity") == "patient":
        return "one min-max window per patient across pre and post phases"
    return "each phase volume min-max scaled on its own"


def sample_grid(data: Path, generated: Path, out: Path, n: int = 4) -> Path:
    """The subtraction figure (module docstring); ``data`` tells how intensities were stored (the title)."""
    by = _by_slice(generated)
    cases = lesion_cases(generated, n) or sorted(by)[:n]  # no lesion at all: still show n slices
    phases = sorted({p for key in cases for p in by[key]})
    plt = _plt()
    ncols = 1 + len(phases)
    fig, axes = plt.subplots(
        3 * len(cases),
        ncols,
        figsize=(1.9 * ncols + 1.2, 1.75 * 3 * len(cases) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, key in enumerate(cases):
        pan = subtraction_panels(by[key])
        rows = (
            ("real post − pre", pan["real_sub"], "RdBu_r", -pan["window"], pan["window"]),
            ("CC-Net post − pre", pan["synth_sub"], "RdBu_r", -pan["window"], pan["window"]),
            ("|real − CC-Net|", pan["diff"], "magma", 0.0, pan["diff_max"]),
        )
        for j, (label, images, cmap, lo, hi) in enumerate(rows):
            r = 3 * i + j
            ax0 = axes[r][0]
            ax0.set_xticks([])
            ax0.set_yticks([])
            if j == 0:
                ax0.imshow(pan["pre"], cmap="gray", vmin=0, vmax=255)
                ax0.set_title(f"{key[0]}, slice {key[1]}\npre-contrast (0-255)", fontsize=7)
            else:
                ax0.axis("off")
            im = None
            for c, k in enumerate(phases, start=1):
                ax = axes[r][c]
                ax.set_xticks([])
                ax.set_yticks([])
                if k in images:
                    im = ax.imshow(images[k], cmap=cmap, vmin=lo, vmax=hi)
                    if pan["mask"] is not None:
                        ax.contour(pan["mask"], levels=[0.5], colors="lime", linewidths=0.6)
                if c == 1:
                    ax.set_ylabel(label, fontsize=7)
                if j == 0:
                    ax.set_title(f"phase {k} ({pan['times'].get(k, '?')} s)", fontsize=7)
            if im is not None:
                bar = fig.colorbar(im, ax=axes[r][1:], fraction=0.02, pad=0.01)
                bar.set_label("grey levels", fontsize=6)
                bar.ax.tick_params(labelsize=6)
    fig.suptitle(
        "Subtraction images (post − pre, one window per patient), lesion contour in green;\n"
        f"stored intensities: {intensity_note(data)}",
        fontsize=9,
    )
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def fit_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """An array resampled (nearest) to ``shape``: real and synthetic images may differ in size."""
    if mask.shape == tuple(shape):
        return mask
    rows = np.minimum((np.arange(shape[0]) + 0.5) * mask.shape[0] / shape[0], mask.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(shape[1]) + 0.5) * mask.shape[1] / shape[1], mask.shape[1] - 1).astype(int)
    return mask[np.ix_(rows, cols)]


def kinetics_data(generated: Path, n_bins: int = 6) -> dict[str, list[dict[str, float]]]:
    """Per acquisition-time bin and series ("real", "CC-Net"): mean relative enhancement, 95 % interval over
    patients, bin centre (s), number of slices and patients, and the mean lesion grey level ("signal")."""
    samples: dict[str, list[tuple[float, float, str, float]]] = {"real": [], "CC-Net": []}
    for (pid, _), phases in _by_slice(generated).items():
        for r in phases.values():
            mask = _mask(r)
            if mask is None:
                continue
            s0 = float(_read(r["source"])[mask].mean())
            if s0 < 1.0:  # no pre-contrast signal to relate to
                continue
            t = float(r["acquisition_time"])
            for name, col in (("real", "target"), ("CC-Net", "generated")):
                signal = float(fit_mask(_read(r[col]), mask.shape)[mask].mean())  # the model's size may differ
                samples[name].append((t, (signal - s0) / s0, pid, signal))
    times = np.array([p[0] for p in samples["real"]])
    if len(times) == 0:
        return {name: [] for name in samples}
    edges = np.unique(np.quantile(times, np.linspace(0, 1, n_bins + 1)))
    out: dict[str, list[dict[str, float]]] = {}
    for name, pts in samples.items():
        t, v = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        pids, signal = [p[2] for p in pts], np.array([p[3] for p in pts])
        idx = np.clip(np.digitize(t, edges[1:-1]), 0, max(len(edges) - 2, 0))
        bins = []
        for b in sorted(set(idx.tolist())):
            sel = np.flatnonzero(idx == b)
            iv = cluster_bootstrap(v[sel], [pids[i] for i in sel])
            bins.append(
                {
                    "time": float(t[sel].mean()),
                    "mean": float(v[sel].mean()),
                    "low": iv.low,
                    "high": iv.high,
                    "n": len(sel),
                    "patients": iv.n_groups,
                    "signal": float(signal[sel].mean()),  # mean lesion grey level (0-255), not relative
                }
            )
        out[name] = bins
    return out


def kinetics_figure(generated: Path, out: Path) -> Path:
    """Relative enhancement in the lesion vs acquisition time, real vs CC-Net, with per-bin 95 % intervals."""
    data = kinetics_data(generated)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, bins), shift in zip(data.items(), (-2.0, 2.0), strict=True):
        if not bins:
            continue
        t = np.array([b["time"] for b in bins]) + shift  # a small offset keeps the two error bars apart
        m = np.array([b["mean"] for b in bins])
        err = np.array([[b["mean"] - b["low"] for b in bins], [b["high"] - b["mean"] for b in bins]])
        ax.errorbar(t, m, yerr=err, marker="o", capsize=3, label=f"{name} (n = {sum(b['n'] for b in bins)} slices)")
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_xlabel("acquisition time after contrast injection (s)")
    ax.set_ylabel("relative enhancement (S(t) − S0) / S0 in the lesion")
    ax.set_title("Lesion kinetics: mean and 95 % interval (bootstrap over patients) per time bin", fontsize=9)
    if any(data.values()):
        ax.legend(fontsize=8)
    else:  # e.g. a dataset without lesion masks
        ax.text(0.5, 0.5, "no lesion masks in the test split", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
