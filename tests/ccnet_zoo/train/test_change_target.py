"""``ldm.target: change``: the diffusion stages learn ``(z_post - z_pre) * change_scale`` and sampling adds the
decoded change to the pre-contrast image."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from zoo_helpers import tiny32

from ccnet_zoo.models.config import CCNetConfig, deep_merge
from ccnet_zoo.models.factory import build_autoencoder
from ccnet_zoo.train.diffusion import DiffusionObjective
from ccnet_zoo.train.runtime import Runtime


def _config(**ldm: object) -> CCNetConfig:
    return CCNetConfig.from_dict(deep_merge(tiny32(), {"ldm": ldm}))


def test_change_latents_are_the_scaled_difference_with_or_without_the_cache(zoo_phantom: Path) -> None:
    from ccnet_zoo.data.dataset import PairedDCEDataset
    from ccnet_zoo.train.data import load_rows

    cfg = _config(target="change", change_scale=2.0)
    rows = load_rows(zoo_phantom)["train"][:6]
    ds = PairedDCEDataset(rows, 32, augment=False, preload=True)
    batch = {
        "source": torch.stack([ds.image(str(r["source"])) for r in rows]),
        "target": torch.stack([ds.image(str(r["target"])) for r in rows]),
        "source_path": [str(r["source"]) for r in rows],
        "target_path": [str(r["target"]) for r in rows],
        "augmented": [False] * len(rows),
    }
    obj = DiffusionObjective(cfg, build_autoencoder(cfg), None, Runtime(torch.device("cpu")))  # type: ignore[arg-type]
    assert obj.target == "change" and obj.change_scale == 2.0
    ae = obj.autoencoder
    fresh = obj.diffused(batch)
    expected = (ae.encode(batch["target"], sample=False) - ae.encode(batch["source"], sample=False)) * 2.0
    assert torch.allclose(fresh, expected, atol=1e-6)  # posterior means: the source's is what sampling starts from
    assert torch.equal(obj.diffused(batch), fresh)  # no random numbers drawn
    obj.cache_posteriors(batch["source_path"] + batch["target_path"], ds.image)
    assert torch.allclose(obj.diffused(batch), expected, atol=1e-5)
    post = DiffusionObjective(_config(target="post"), ae, None, Runtime(torch.device("cpu")))  # type: ignore[arg-type]
    assert post.target == "post"  # the paper's target: the post-contrast latents
    torch.manual_seed(3)
    got = post.diffused(batch)
    torch.manual_seed(3)
    assert torch.equal(got, ae.encode(batch["target"], sample=True).float())


def test_change_target_trains_and_samples(
    zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both diffusion stages train on the change; the pipeline adds the decoded change to the input, so a
    sampled change of zero gives the pre-contrast image back."""
    from ccnet_zoo.pipeline import CCNetPipeline
    from ccnet_zoo.pipeline import ccnet as module
    from ccnet_zoo.train.api import train_stage

    cfg = deep_merge(tiny32(), {"ldm": {"target": "change", "change_scale": 2.0}})
    ldm, cn = tmp_path / "ldm", tmp_path / "controlnet"
    train_stage("ldm", cfg, zoo_phantom, ldm, ae=trained_runs["ae"], progress=False)
    train_stage("controlnet", cfg, zoo_phantom, cn, ae=trained_runs["ae"], ldm=ldm, progress=False)
    pipe = CCNetPipeline.from_pretrained(cn)
    assert pipe.config.ldm.target == "change"
    g = torch.Generator().manual_seed(0)
    pre = torch.rand(2, 1, 32, 32, generator=g) * 1.6 - 0.8
    acq = torch.tensor([[200.0], [500.0]])
    out = pipe(pre, acq, seed=1)
    assert out.shape == pre.shape and torch.equal(out, pipe(pre, acq, seed=1))
    ae = pipe.autoencoder
    with torch.no_grad():
        z_pre = ae.encode(pre, sample=False)
    for value in (0.0, 0.5):
        sampled = torch.full_like(z_pre, value)
        monkeypatch.setattr(module, "ddim_sample", lambda *a, s=sampled, **k: s.clone())
        got = pipe(pre, acq, seed=1)
        with torch.no_grad():
            want = (pre + ae.decode(z_pre + value / 2.0) - ae.decode(z_pre)).clamp(-1, 1)
        assert torch.allclose(got, want, atol=1e-5)
        if value == 0.0:
            assert torch.allclose(got, pre, atol=1e-5)  # no change: the input itself, texture and noise
