"""Loss logs of a run: ``losses.csv`` (one row per epoch) and ``losses.png`` (train/val curves)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from frd._files import replace_owned


def write_csv(path: Path, rows: Sequence[Mapping[str, float]]) -> None:
    """Write the rows (union of keys, ``epoch`` first) atomically."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)

    replace_owned(path, write)


def plot_losses(path: Path, rows: Sequence[Mapping[str, float]], title: str) -> None:
    """Plot every ``*loss*`` column against the epoch (log scale when all positive)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(r["epoch"]) + 1 for r in rows]
    cols = [k for k in rows[0] if "loss" in k] if rows else []
    fig, ax = plt.subplots(figsize=(6, 4))
    positive = True
    for col in cols:
        ys = [float(r.get(col, float("nan"))) for r in rows]
        positive &= all(y > 0 for y in ys if y == y)
        ax.plot(epochs, ys, marker="o", ms=3, label=col)
    if cols and positive:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    replace_owned(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
