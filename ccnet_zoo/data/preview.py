"""Preview figures: a grid of pre + post phases from a prepared dataset, and the phantom's kinetics plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ccnet_zoo.data import layout
from ccnet_zoo.data.errors import DataError


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise DataError(f"{path} exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)


def preview_grid(root: Path, out_png: Path, n_patients: int = 4, overwrite: bool = False) -> Path:
    """Save a grid: one row per patient (middle slice), columns pre, phase 1..4 and the lesion mask.

    Works on any dataset in the shared layout (phantom or Duke); times come from ``LDM_metadata.csv``.
    """
    root, out_png = Path(root), Path(out_png)
    _check_target(out_png, overwrite)
    meta = {r["patient_id"]: r for r in layout.read_table(root / layout.METADATA_FILE, ("patient_id",))}
    pres = sorted(
        p
        for split in layout.SPLITS
        for p in (root / split / f"{split}_A").glob("*_0000_slice*.png")
        if layout.IMAGE_RE.match(p.name)
    )
    by_patient: dict[str, list[Path]] = {}
    for p in pres:
        m = layout.IMAGE_RE.match(p.name)
        assert m is not None
        by_patient.setdefault(m["pid"], []).append(p)
    if not by_patient:
        raise DataError(f"{root} holds no pre-contrast images in the expected layout")
    patients = sorted(by_patient)[:n_patients]
    plt = _pyplot()
    ncol = 6
    fig, axes = plt.subplots(len(patients), ncol, figsize=(1.8 * ncol, 1.9 * len(patients)), squeeze=False)
    for row, pid in enumerate(patients):
        slices = sorted(by_patient[pid], key=lambda q: int(layout.IMAGE_RE.match(q.name)["slice"]))  # type: ignore[index]
        pre = slices[len(slices) // 2]
        m = layout.IMAGE_RE.match(pre.name)
        assert m is not None
        idx = int(m["slice"])
        times = layout.parse_times(meta[pid]["acquisition_times"]) if pid in meta else []
        for col in range(ncol):
            ax = axes[row, col]
            ax.set_axis_off()
            if col < 5:
                path = pre.parent.parent / (pre.parent.name if col == 0 else pre.parent.name[:-1] + "B")
                path = path / layout.image_name(pid, col, idx)
                if path.is_file():
                    ax.imshow(layout.read_png(path), cmap="gray", vmin=0, vmax=255)
                    label = "pre" if col == 0 else f"phase {col}"
                    if col < len(times):
                        label += f"\n{times[col]} s"
                    ax.set_title(label, fontsize=7)
            else:
                mpath = pre.parent.parent / "annotations" / layout.mask_name(pid, idx)
                if mpath.is_file():
                    ax.imshow(layout.read_png(mpath), cmap="magma", vmin=0, vmax=255)
                    ax.set_title("lesion mask", fontsize=7)
        axes[row, 0].text(
            -0.08, 0.5, f"{pid}\nslice {idx}", transform=axes[row, 0].transAxes, fontsize=6, ha="right", va="center"
        )
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png


def kinetics_plot(
    records: Sequence[dict[str, object]], out_png: Path, overwrite: bool = False, title: str | None = None
) -> Path:
    """Plot mean lesion and parenchyma enhancement vs acquisition time, one panel per curve type.

    ``records``: dicts with ``curve_type``, ``times`` (s since pre), ``lesion`` and ``parenchyma`` (mean
    signal per phase, phase 0 = pre), as returned by :func:`ccnet_zoo.data.phantom.kinetics_record`.
    """
    out_png = Path(out_png)
    _check_target(out_png, overwrite)
    plt = _pyplot()
    types = ("persistent", "plateau", "washout")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharey=True)
    for ax, ctype in zip(axes, types, strict=True):
        recs = [r for r in records if r["curve_type"] == ctype]
        for r in recs:
            t = np.asarray(r["times"], dtype=float)
            for key, colour in (("lesion", "tab:red"), ("parenchyma", "tab:blue")):
                s = np.asarray(r[key], dtype=float)
                ax.plot(t, 100.0 * (s / s[0] - 1.0), "-o", color=colour, alpha=0.25, ms=2, lw=0.8)
        if recs:
            for key, colour in (("lesion", "tab:red"), ("parenchyma", "tab:blue")):
                n = min(len(r["times"]) for r in recs)  # type: ignore[arg-type]
                t = np.median([np.asarray(r["times"], dtype=float)[:n] for r in recs], axis=0)
                e = np.median(
                    [100.0 * (np.asarray(r[key], dtype=float)[:n] / float(r[key][0]) - 1.0) for r in recs],  # type: ignore[index]
                    axis=0,
                )
                ax.plot(t, e, "-", color=colour, lw=2.5)
        ax.set_title(f"{ctype} (n={len(recs)})")
        ax.set_xlabel("acquisition time [s since pre-contrast]")
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    axes[0].set_ylabel("relative enhancement [%]")
    handles = [
        Line2D([], [], color="tab:red", lw=2.5, label="lesion (median; thin: patients)"),
        Line2D([], [], color="tab:blue", lw=2.5, label="parenchyma (median; thin: patients)"),
    ]
    axes[0].legend(handles=handles, fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
