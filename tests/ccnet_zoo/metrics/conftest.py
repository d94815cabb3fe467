"""Small paired PNG sets in the data layer's naming, an isolated weights cache, one torch thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ccnet_zoo.data.layout import image_name, write_png


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    torch.set_num_threads(1)
    monkeypatch.setenv("CCNET_ZOO_CACHE", str(tmp_path / "weights-cache"))
    monkeypatch.setenv("CCNET_ZOO_OFFLINE", "1")


def blob(rng: np.random.Generator, size: int, level: float) -> np.ndarray:
    """A smooth grey image with a bright disc whose brightness is ``level``."""
    yy, xx = np.mgrid[:size, :size] / size
    cx, cy = rng.uniform(0.3, 0.7, 2)
    img = 60 + 40 * np.sin(6 * xx + rng.uniform(0, 3)) + level * ((xx - cx) ** 2 + (yy - cy) ** 2 < 0.03)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(pre folder, real post folder with phases 1-2, synthetic folder with p1/p2): 3 patients x 3 slices, 48 px."""
    rng = np.random.default_rng(0)
    pre, real, synth = tmp_path / "test_A", tmp_path / "test_B", tmp_path / "gen"
    for pid in ("Breast_MRI_001", "Breast_MRI_002", "Breast_MRI_010"):
        for sl in (3, 12, 40):
            write_png(pre / image_name(pid, 0, sl), blob(rng, 48, 20))
            for k in (1, 2):
                img = blob(rng, 48, 60 + 40 * k)
                write_png(real / image_name(pid, k, sl), img)
                noisy = np.clip(img.astype(int) + rng.integers(-12, 13, img.shape), 0, 255).astype(np.uint8)
                write_png(synth / f"p{k}" / image_name(pid, k, sl), noisy)
    return pre, real, synth
