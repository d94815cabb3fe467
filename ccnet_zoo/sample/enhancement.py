"""Lesion enhancement of generated images, measured inside the phantom's lesion masks.

For every generated image with a non-empty lesion mask: the mean intensity (uint8 units) inside the mask of
the generated image, of the real phase-k image and of the pre-contrast input. Per phase k: the means over
images. Per slice with two or more phases: the least-squares slope of lesion intensity against acquisition
time (grey levels per 100 s) -- the pre-contrast input is the same image for every phase, so its slope is 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ccnet_zoo.data.layout import read_png
from ccnet_zoo.models.errors import ModelError

SOURCES = ("generated", "real", "pre")


@dataclass
class EnhancementReport:
    """Per-phase lesion means, per-slice slopes (grey levels / 100 s) and counts."""

    phase_means: dict[str, dict[int, float]] = field(default_factory=dict)
    phase_counts: dict[int, int] = field(default_factory=dict)
    slope_mean: dict[str, float] = field(default_factory=dict)
    slope_positive: dict[str, float] = field(default_factory=dict)
    n_slices: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        """A plain-text table of the numbers."""
        lines = ["phase  n    generated  real    pre"]
        for k in sorted(self.phase_counts):
            m = [self.phase_means[s][k] for s in SOURCES]
            lines.append(f"{k:<6} {self.phase_counts[k]:<4} {m[0]:>9.1f} {m[1]:>7.1f} {m[2]:>6.1f}")
        slopes = ", ".join(f"{s} {self.slope_mean[s]:+.2f} ({self.slope_positive[s]:.0%} > 0)" for s in SOURCES)
        lines.append(f"slope per 100 s over {self.n_slices} slices: {slopes}")
        return "\n".join(lines)


def _slope(times: Sequence[float], values: Sequence[float]) -> float:
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    tc = t - t.mean()
    return float((tc * (v - v.mean())).sum() / (tc**2).sum()) * 100.0


def measure_enhancement(rows: Sequence[Mapping[str, str]]) -> EnhancementReport:
    """Measure the rows of a ``generated.tsv`` (rows without a lesion mask are skipped)."""
    per_phase: dict[str, dict[int, list[float]]] = {s: defaultdict(list) for s in SOURCES}
    per_slice: dict[tuple[str, str], list[tuple[float, dict[str, float]]]] = defaultdict(list)
    for r in rows:
        mask_path = r.get("segmentation_mask") or ""
        if not mask_path:
            continue
        mask = read_png(Path(mask_path)) > 127
        if not mask.any():
            continue
        values: dict[str, float] = {}
        for source, key in zip(SOURCES, ("generated", "target", "source"), strict=True):
            img = read_png(Path(r[key]))
            if img.shape != mask.shape:
                import cv2

                img = cv2.resize(img, mask.shape[::-1], interpolation=cv2.INTER_AREA)
            values[source] = float(img[mask].mean())
        phase = int(r["phase"])
        for s in SOURCES:
            per_phase[s][phase].append(values[s])
        per_slice[(r["patient_id"], r["slice"])].append((float(r["acquisition_time"]), values))
    if not per_slice:
        raise ModelError("no generated image has a non-empty lesion mask; generate a split with lesions")
    rep = EnhancementReport()
    rep.phase_counts = {k: len(v) for k, v in sorted(per_phase["generated"].items())}
    rep.phase_means = {s: {k: float(np.mean(v)) for k, v in sorted(per_phase[s].items())} for s in SOURCES}
    slopes: dict[str, list[float]] = {s: [] for s in SOURCES}
    for items in per_slice.values():
        if len({t for t, _ in items}) < 2:
            continue
        times = [t for t, _ in items]
        for s in SOURCES:
            slopes[s].append(_slope(times, [v[s] for _, v in items]))
    rep.n_slices = len(slopes["generated"])
    if rep.n_slices == 0:
        raise ModelError("no lesion slice has two or more generated phases")
    rep.slope_mean = {s: float(np.mean(v)) for s, v in slopes.items()}
    rep.slope_positive = {s: float(np.mean(np.asarray(v) > 0)) for s, v in slopes.items()}
    return rep
