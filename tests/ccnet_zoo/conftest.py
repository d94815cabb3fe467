"""Fixtures shared by the models/train/sample tests: a 32-px phantom and a tiny CC-Net trained 1 epoch per stage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from zoo_helpers import tiny32, train_stages

#: Fixtures that train or run something for many seconds: a test that uses one is in the slow lane.
SLOW_FIXTURES = {"trained_runs", "run32", "table_run"}  # run32: a reduced reproduce run (test_reproduce_state.py)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a trained CC-Net ``slow`` (``make test-fast`` leaves them out)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def zoo_phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 patients x 3 slices, 32 px, 2-4 post phases (train/validation/test all non-empty)."""
    import torch

    from ccnet_zoo.data.phantom.generator import PhantomConfig, generate_phantom

    torch.set_num_threads(1)
    out = Path(tmp_path_factory.mktemp("zoo")) / "phantom"
    generate_phantom(out, PhantomConfig(patients=8, slices=3, size=32, seed=5), progress=False)
    return out


@pytest.fixture(scope="session")
def trained_runs(zoo_phantom: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """AE, mean, LDM and ControlNet runs of ``tiny32()`` trained for one epoch each."""
    return train_stages(tiny32(), zoo_phantom, Path(tmp_path_factory.mktemp("runs")))


@pytest.fixture(scope="session")
def table_run(zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only Table 1 run folder: ``data`` (the phantom) and ``generated`` by the trained ControlNet, for the
    training and test pairs (the small phantom's test split may hold no lesion, and lesion bins need one)."""
    from ccnet_zoo.pipeline import CCNetPipeline, generate_split
    from ccnet_zoo.train.data import load_rows

    run = Path(tmp_path_factory.mktemp("table_run")) / "run"
    run.mkdir()
    (run / "data").symlink_to(zoo_phantom, target_is_directory=True)
    pipe = CCNetPipeline.from_pretrained(trained_runs["controlnet"])
    rows = load_rows(zoo_phantom)
    generate_split(pipe, rows["train"] + rows["test"], run / "generated", batch_size=16, progress=False)
    return run
