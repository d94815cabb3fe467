"""Torch dataset: scaling to [-1, 1], paired and seeded augmentations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ccnet_zoo.data import layout
from ccnet_zoo.data.datalist import build_datalist
from ccnet_zoo.data.dataset import PairedDCEDataset, load_image, paired_augment

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def rows(small_phantom) -> list[dict]:
    return build_datalist(small_phantom.root)["train"]


def test_items_have_the_documented_keys_and_ranges(rows) -> None:
    ds = PairedDCEDataset(rows, image_size=64)
    item = ds[0]
    assert item["source"].shape == item["target"].shape == item["mask"].shape == (1, 64, 64)
    assert item["source"].min() >= -1 and item["source"].max() <= 1
    assert item["acquisition_time"].shape == (1,) and item["acquisition_time"].dtype == torch.float32
    assert float(item["acquisition_time"]) == float(rows[0]["acquisition_time"])
    assert set(np.unique(item["mask"].numpy())) <= {0.0, 1.0}
    assert {"report", "patient_id", "phase", "slice", "source_path", "target_path"} <= set(item)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["source"].shape == (4, 1, 64, 64) and batch["acquisition_time"].shape == (4, 1)


def test_scaling_maps_0_255_to_minus1_1(tmp_path: Path) -> None:
    img = np.tile(np.array([0, 255], dtype=np.uint8), (8, 4))
    layout.write_png(tmp_path / "x.png", img)
    x = load_image(tmp_path / "x.png", 8)
    assert x.min() == -1.0 and x.max() == 1.0
    assert torch.equal(x[0, :, 0], -torch.ones(8)) and torch.equal(x[0, :, 1], torch.ones(8))


def test_augmentation_is_paired_and_deterministic(rows) -> None:
    same = [dict(r, target=r["source"]) for r in rows]  # target == source: a paired transform keeps them equal
    ds = PairedDCEDataset(same, image_size=48, augment=True, seed=3)
    changed = 0
    plain = PairedDCEDataset(same, image_size=48)
    for i in range(len(ds)):
        a = ds[i]
        torch.testing.assert_close(a["source"], a["target"])
        torch.testing.assert_close(a["source"], ds[i]["source"])  # same seed/epoch/index -> same item
        changed += not torch.equal(a["source"], plain[i]["source"])
    assert 0.1 * len(ds) < changed < 0.8 * len(ds)  # four transforms at p = 0.1 each
    ds.set_epoch(1)
    assert any(
        not torch.equal(ds[i]["source"], PairedDCEDataset(same, 48, True, 3)[i]["source"]) for i in range(len(ds))
    )


def test_each_transform_moves_mask_with_image() -> None:
    img = torch.linspace(-1, 1, 32 * 32).reshape(1, 32, 32)
    mask = (img > 0.5).float()
    for seed in range(200):
        rng = np.random.default_rng(seed)
        src, _tgt, m = paired_augment([img, img * 0.5, mask], rng, n_intensity=2)
        assert set(torch.unique(m).tolist()) <= {0.0, 1.0}
        if not torch.equal(m, mask):  # a flip/affine happened: the bright part moved with the mask
            assert src[m > 0].mean() > src[m == 0].mean()
