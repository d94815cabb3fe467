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


_COLOURS = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
)


def plot_losses(
    path: Path, rows: Sequence[Mapping[str, float]], title: str, size: tuple[int, int] = (640, 420)
) -> None:
    """Plot every ``*loss*`` column against the epoch (log scale when all positive), drawn with Pillow.

    Pillow (already needed for the PNG images) imports in milliseconds; matplotlib took seconds at the end of
    every training run.
    """
    import math

    from PIL import Image, ImageDraw

    cols = [k for k in rows[0] if "loss" in k] if rows else []
    series = {c: [(int(r["epoch"]) + 1, float(r.get(c, math.nan))) for r in rows] for c in cols}
    values = [y for pts in series.values() for _, y in pts if math.isfinite(y)]
    log = bool(values) and min(values) > 0
    tr = (lambda y: math.log10(y)) if log else (lambda y: y)
    lo, hi = (min(map(tr, values)), max(map(tr, values))) if values else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    e_lo, e_hi = 1, max(2, max((int(r["epoch"]) + 1 for r in rows), default=2))
    w, h = size
    left, right, top, bottom = 70, w - 150, 30, h - 40
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)

    def xy(e: float, y: float) -> tuple[float, float]:
        return (left + (e - e_lo) / (e_hi - e_lo) * (right - left), bottom - (tr(y) - lo) / (hi - lo) * (bottom - top))

    d.rectangle((left, top, right, bottom), outline=(0, 0, 0))
    for k in range(5):  # y ticks: 5 levels of the (log) range
        v = lo + (hi - lo) * k / 4
        y = bottom - (bottom - top) * k / 4
        d.line((left, y, right, y), fill=(225, 225, 225))
        d.text((4, y - 6), f"{10**v:.3g}" if log else f"{v:.3g}", fill=(0, 0, 0))
    for e in sorted({e for pts in series.values() for e, _ in pts}):
        d.text((xy(e, 1.0 if log else lo)[0] - 3, bottom + 4), str(e), fill=(0, 0, 0))
    for i, (col, pts) in enumerate(series.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        good = [xy(e, y) for e, y in pts if math.isfinite(y) and (y > 0 or not log)]
        if len(good) > 1:
            d.line(good, fill=colour, width=2)
        for x, y in good:
            d.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        d.line((right + 10, top + 14 * i + 6, right + 28, top + 14 * i + 6), fill=colour, width=2)
        d.text((right + 32, top + 14 * i), col, fill=(0, 0, 0))
    d.text((left, 8), title + ("  (log scale)" if log else ""), fill=(0, 0, 0))
    d.text(((left + right) // 2 - 15, h - 18), "epoch", fill=(0, 0, 0))
    replace_owned(path, lambda tmp: img.save(tmp, format="PNG"))
