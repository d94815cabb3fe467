"""Shared fixtures: generated image sets (nothing real is needed) and an isolated feature cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from datagen import write_nifti_set, write_png_set


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The comparisons against frd-score (``oracle``) run pyradiomics twice per case: in the slow lane."""
    for item in items:
        if item.get_closest_marker("oracle") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's cache from the tests."""
    monkeypatch.setenv("FRD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "frd-cache"))


@pytest.fixture(scope="session")
def png_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two 2D PNG sets of unequal size (12 and 9) that differ in texture and contrast."""
    root = tmp_path_factory.mktemp("png")
    write_png_set(root / "a", 12, seed=1)
    write_png_set(root / "b", 9, seed=2, smooth=1.0, contrast=0.5)
    return root / "a", root / "b"


@pytest.fixture(scope="session")
def nifti_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two small 3D NIfTI sets (4 and 5 volumes at 2 mm, so v1 does not resample)."""
    root = tmp_path_factory.mktemp("nifti")
    write_nifti_set(root / "a", 4, seed=3)
    write_nifti_set(root / "b", 5, seed=4, smooth=1.0)
    return root / "a", root / "b"
