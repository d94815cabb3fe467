"""Worst relative difference per feature class, fast engine vs pyradiomics, on generated images.

Run: ``python benchmarks/engine_exactness.py`` (numba installed). Prints, per preset and
dimensionality, the largest relative difference of each feature class over the features above
round-off level, and the features at round-off level (see docs/presets.md). It fails loudly if any
feature is outside the tolerance. The numbers in docs/presets.md come from this script.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

sys.path[:0] = [str(Path(__file__).parents[1] / "tests"), str(Path(__file__).parents[1] / "tests" / "frd")]

from test_engine import CASES_2D, _mask, _pair, _pyradiomics, _texture  # noqa: E402

from frd.engine.exactness import compare, intensity_scale, is_roundoff  # noqa: E402
from frd.engine.pipeline import make_extractor  # noqa: E402
from frd.settings import resolve_settings  # noqa: E402

from datagen import tissue  # noqa: E402


def main() -> None:
    worst: dict[tuple[str, str], float] = collections.defaultdict(float)
    roundoff: dict[str, set[str]] = collections.defaultdict(set)
    images: collections.Counter[str] = collections.Counter()

    def run(preset: str, arr: np.ndarray, msk: np.ndarray, dim: int = 2) -> None:
        s = resolve_settings(preset)
        if dim == 2:
            img, m = _pair(arr, msk, preset)
        else:
            img = sitk.GetImageFromArray(arr.astype(np.float32))
            img.SetSpacing((2.0, 2.0, 2.0))
            m = sitk.GetImageFromArray(msk)
            m.CopyInformation(img)
        ref = _pyradiomics(s.params(dim), img, m)
        got = {k: float(v) for k, v in make_extractor(s.params(dim)).execute(img, m).items()}
        scale = intensity_scale(img)
        report = compare(ref, got, scale)
        if report.mismatches:
            raise SystemExit(f"{preset} {dim}D: outside the tolerance: {report.mismatches[:5]}")
        key = f"{preset} {dim}D"
        images[key] += 1
        for name, value in got.items():
            r = ref[name]
            cls = "diagnostics" if name.startswith("diagnostics") else name.split("_")[1]
            if is_roundoff(r, scale):
                roundoff[key].add(name)
            elif not np.isnan(r):
                worst[(key, cls)] = max(worst[(key, cls)], abs(value - r) / abs(r))

    rng = np.random.default_rng(2026)
    for preset in ("v1", "v0", "ccnet"):
        for size in (64, 128):
            for _ in range(3):
                run(preset, tissue(rng, (size, size)) * 255, np.ones((size, size), np.uint8))
        for texture, mask, shape in CASES_2D:
            run(preset, _texture(rng, shape, texture), _mask(rng, shape, mask))
    for preset in ("v0", "v1"):
        for _ in range(2):
            shape = (12, 20, 20)
            run(preset, tissue(rng, shape) * 255, _mask(rng, shape, "blob"), 3)
    for key in sorted(images):
        print(f"{key}: {images[key]} images")
        for (k, cls), w in sorted(worst.items()):
            if k == key:
                print(f"  {cls:12s} worst relative difference {w:.1e}")
        print(f"  round-off level: {', '.join(sorted(roundoff[key])) or 'none'}")


if __name__ == "__main__":
    main()
