"""``ldm.target: residual``: a regression (the ``mean`` stage) predicts base = E[post | pre, t]; the diffusion
stages learn ``(z_post - z_base) * change_scale``, the ControlNet sees base, and sampling adds the decoded
residual to base."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from zoo_helpers import tiny32, train_stages

from ccnet_zoo.models.config import CCNetConfig, deep_merge, load_config
from ccnet_zoo.models.errors import CheckpointError, ConfigError, ModelError
from ccnet_zoo.models.factory import build_autoencoder, build_mean
from ccnet_zoo.train.diffusion import DiffusionObjective
from ccnet_zoo.train.mean import weighted_error
from ccnet_zoo.train.runtime import Runtime

MEAN = {"acq_time_scale": 0.001, "params": {"features": [8, 8, 16, 16, 32, 8]}}


def residual32(**train: object) -> dict:
    """``tiny32()`` with the residual target, a small mean network and one epoch of its stage."""
    return deep_merge(
        tiny32(**train),
        {
            "ldm": {"target": "residual", "change_scale": 4.0},
            "mean": MEAN,
            "train": {"mean": {"epochs": 1, "batch_size": 4, "lr": 1e-3}},
        },
    )


def test_config_needs_the_mean_section_and_checks_it() -> None:
    cfg = residual32()
    assert CCNetConfig.from_dict(cfg).mean.params == MEAN["params"]
    without = {k: v for k, v in cfg.items() if k != "mean"}
    with pytest.raises(ConfigError, match=r"'ldm\.target: residual' needs the 'mean' section"):
        CCNetConfig.from_dict(without)
    with pytest.raises(ConfigError, match=r"'mean\.params' has unknown argument\(s\) widths of BasicUNet"):
        CCNetConfig.from_dict(deep_merge(cfg, {"mean": {"params": {"widths": [1]}}}))
    with pytest.raises(ConfigError, match=r"'mean\.params\.in_channels' is set by CC-Net itself"):
        CCNetConfig.from_dict(deep_merge(cfg, {"mean": {"params": {"in_channels": 3}}}))
    with pytest.raises(ConfigError, match=r"'mean\.acq_time_scale' is required"):
        CCNetConfig.from_dict(deep_merge(cfg, {"mean": {"acq_time_scale": None}}) | {"mean": {"params": {}}})
    with pytest.raises(ConfigError, match=r"'mean' network needs image_size >= 32, got 16"):
        CCNetConfig.from_dict(cfg | {"image_size": 16})
    # a config without the optional section reads and writes as before: no 'mean' key appears
    change = load_config("tiny") | {"ldm": {**load_config("tiny")["ldm"], "target": "change"}}
    change.pop("mean")
    typed = CCNetConfig.from_dict(change)
    assert typed.mean is None and "mean" not in typed.to_dict() and typed.to_dict() == change


def test_weighted_error_counts_changing_pixels_more() -> None:
    pre = torch.zeros(1, 1, 2, 2)
    post = torch.tensor([[[[0.0, 0.0], [0.0, 1.0]]]])  # one pixel changes by 1 (half the range)
    base = torch.zeros(1, 1, 2, 2)  # misses exactly that pixel
    assert weighted_error(base, pre, post, 0.0).item() == pytest.approx(1 / 4)
    assert weighted_error(base, pre, post, 10.0).item() == pytest.approx(6 / 9)  # weights 1, 1, 1, 1 + 10 / 2


def test_prepare_replaces_sources_by_bases_and_the_cache_matches(zoo_phantom: Path) -> None:
    from ccnet_zoo.data.dataset import PairedDCEDataset
    from ccnet_zoo.train.api import _cache_latents
    from ccnet_zoo.train.data import load_rows

    cfg = CCNetConfig.from_dict(residual32())
    rows = load_rows(zoo_phantom)
    ds = PairedDCEDataset(rows["train"], 32, augment=False, preload=True)
    val = PairedDCEDataset(rows["validation"], 32, augment=False, preload=True)
    items = [ds[i] for i in range(6)]
    batch = {
        "source": torch.stack([it["source"] for it in items]),
        "target": torch.stack([it["target"] for it in items]),
        "acquisition_time": torch.stack([it["acquisition_time"] for it in items]),
        "source_path": [it["source_path"] for it in items],
        "target_path": [it["target_path"] for it in items],
        "augmented": [False] * 6,
    }
    mean = build_mean(cfg)
    torch.nn.init.normal_(mean.net.final_conv.weight, std=0.1)  # a mean that changes the image
    rt = Runtime(torch.device("cpu"))
    obj = DiffusionObjective(cfg, build_autoencoder(cfg), None, rt, mean=mean)  # type: ignore[arg-type]
    prepared = obj.prepare(batch)
    with torch.no_grad():
        base = mean(batch["source"], batch["acquisition_time"]).clamp(-1, 1)
    assert not torch.equal(base, batch["source"])
    assert torch.equal(prepared["source"], base) and torch.equal(prepared["target"], batch["target"])
    assert prepared["source_path"] == [f"base:{p}" for p in batch["target_path"]]
    ae = obj.autoencoder
    expected = (ae.encode(batch["target"], sample=False) - ae.encode(base, sample=False)) * 4.0
    fresh = obj.diffused(prepared)
    assert torch.allclose(fresh, expected, atol=1e-6)
    _cache_latents(obj, rows, ds, val)  # the bases of every pair, keyed as prepare() names them
    assert all(k in obj.cache for k in prepared["source_path"])
    assert torch.allclose(obj.diffused(prepared), expected, atol=1e-5)
    with pytest.raises(ModelError, match="needs the trained mean network"):
        DiffusionObjective(cfg, ae, None, rt)  # type: ignore[arg-type]


def test_residual_target_trains_and_samples(
    zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three stages train; the pipeline (run folder or bundle) adds the decoded residual to base, so a
    sampled residual of zero gives base = mean(pre, t) back, and the ControlNet is conditioned on base."""
    from ccnet_zoo.pipeline import CCNetPipeline
    from ccnet_zoo.pipeline import ccnet as module
    from ccnet_zoo.train.api import train_stage

    cfg = residual32()
    with pytest.raises(CheckpointError, match="pass --mean RUN"):
        train_stage("ldm", cfg, zoo_phantom, tmp_path / "x", ae=trained_runs["ae"], progress=False)
    runs = train_stages(cfg, zoo_phantom, tmp_path, ae=trained_runs["ae"])
    pipe = CCNetPipeline.from_pretrained(runs["controlnet"])
    assert pipe.config.ldm.target == "residual" and pipe.mean is not None
    g = torch.Generator().manual_seed(0)
    pre = torch.rand(2, 1, 32, 32, generator=g) * 1.6 - 0.8
    acq = torch.tensor([[200.0], [500.0]])
    out = pipe(pre, acq, seed=1)
    bundle = pipe.save_pretrained(tmp_path / "residual.safetensors")
    again = CCNetPipeline.from_pretrained(bundle)
    assert torch.equal(again(pre, acq, seed=1), out)  # the bundle carries the mean network
    with torch.no_grad():
        base = pipe.mean(pre, acq).clamp(-1, 1)
    seen = {}

    def fake(*args: object, **kwargs: object) -> torch.Tensor:
        seen["cond"] = args[4]
        return torch.zeros_like(pipe.autoencoder.encode(base, sample=False))

    monkeypatch.setattr(module, "ddim_sample", fake)
    got = pipe(pre, acq, seed=1)
    assert torch.equal(seen["cond"], base)  # the ControlNet is conditioned on base, not on the input
    assert torch.allclose(got, base, atol=1e-6)  # no residual: base itself
    with pytest.raises(ModelError, match="needs the conditional-mean network"):
        CCNetPipeline(pipe.autoencoder, pipe.unet, pipe.controlnet, pipe.text, pipe.config)


def test_mean_stage_belongs_to_the_residual_target(zoo_phantom: Path, tmp_path: Path) -> None:
    from ccnet_zoo.train.api import train_stage

    cfg = deep_merge(residual32(), {"ldm": {"target": "change"}})
    with pytest.raises(ModelError, match=r"the mean stage belongs to ldm\.target 'residual'"):
        train_stage("mean", cfg, zoo_phantom, tmp_path / "mean", progress=False)
