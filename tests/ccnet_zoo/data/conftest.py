"""Shared fixtures of the data-layer tests: one small phantom written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccnet_zoo.data.phantom.generator import PhantomConfig, PhantomResult, generate_phantom


@pytest.fixture(scope="session")
def small_phantom(tmp_path_factory: pytest.TempPathFactory) -> PhantomResult:
    """12 patients, 4 slices, 48 px, written to disk."""
    out = Path(tmp_path_factory.mktemp("phantom")) / "data"
    return generate_phantom(out, PhantomConfig(patients=12, slices=4, size=48, seed=7), progress=False)
