"""``ldm.target: residual``: a regression (the ``mean`` stage) predicts base = E[post | pre, t]; the diffusion
stages learn ``(z_post - z_base) * change_scale``, the ControlNet sees base, and sampling adds the decoded
residual to base."""

from __future__ import annotations

import copy
import csv
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
    """``tiny32()`` with the residual target, a small mean network (no noise head) and one epoch of its stage."""
    cfg = deep_merge(
        tiny32(**train),
        {
            "ldm": {"target": "residual", "change_scale": 4.0},
            "train": {"mean": {"epochs": 1, "batch_size": 4, "lr": 1e-3}},
        },
    )
    return cfg | {"mean": copy.deepcopy(MEAN)}  # the whole section: tiny's noise head left out


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


def test_noise_head_learns_the_level_without_moving_the_mean(zoo_phantom: Path, tmp_path: Path) -> None:
    """``mean.noise``: the head's term leaves the mean network's training bit for bit as without it, the head
    moves towards the real post-contrast images' level, and the bundle and the checkpoint carry it."""
    from ccnet_zoo.data.dataset import PairedDCEDataset
    from ccnet_zoo.models.loading import load_mean
    from ccnet_zoo.models.mean import noise_level
    from ccnet_zoo.train.api import train_stage
    from ccnet_zoo.train.data import load_rows
    from ccnet_zoo.train.runtime import seed_all

    plain_cfg = deep_merge(residual32(), {"train": {"mean": {"epochs": 2}}})
    headed_cfg = deep_merge(
        residual32(), {"train": {"mean": {"epochs": 2}}, "mean": {"noise": {"features": [4, 4, 4, 4, 4, 4]}}}
    )
    assert CCNetConfig.from_dict(headed_cfg).mean.noise == {"features": [4, 4, 4, 4, 4, 4]}
    with pytest.raises(ConfigError, match=r"'mean\.noise' has unknown argument\(s\) widths of BasicUNet"):
        CCNetConfig.from_dict(deep_merge(headed_cfg, {"mean": {"noise": {"widths": [1]}}}))
    with pytest.raises(ConfigError, match=r"'mean\.noise\.out_channels' is set by CC-Net itself"):
        CCNetConfig.from_dict(deep_merge(headed_cfg, {"mean": {"noise": {"out_channels": 2}}}))
    train_stage("mean", plain_cfg, zoo_phantom, tmp_path / "plain", progress=False)
    train_stage("mean", headed_cfg, zoo_phantom, tmp_path / "headed", progress=False)
    plain, headed = (list(csv.DictReader((tmp_path / run / "losses.csv").open())) for run in ("plain", "headed"))
    assert [r["train_loss"] for r in plain] == [r["train_loss"] for r in headed]
    assert [r["val_loss"] for r in plain] == [r["val_loss"] for r in headed]  # validation scores the mean alone
    assert "train_noise_level" in headed[-1] and "train_noise_level" not in plain[-1]
    a, b = load_mean(tmp_path / "plain"), load_mean(tmp_path / "headed")
    pairs = zip(a.net.state_dict().values(), b.net.state_dict().values(), strict=True)
    assert all(torch.equal(x, y) for x, y in pairs)
    assert b.has_noise and not a.has_noise

    items = PairedDCEDataset(load_rows(zoo_phantom)["train"], 32, augment=False, preload=True)
    pre = torch.stack([items[i]["source"] for i in range(8)])
    post = torch.stack([items[i]["target"] for i in range(8)])
    acq = torch.stack([items[i]["acquisition_time"] for i in range(8)])
    real = noise_level(post).log()
    seed_all(headed_cfg["seed"], 999_983)  # as train_stage does: the head's initial weights
    untrained = build_mean(CCNetConfig.from_dict(headed_cfg))
    with torch.no_grad():
        err_before = (untrained.log_noise_sd(pre, acq).flatten() - real).abs().mean()
        err_after = (b.log_noise_sd(pre, acq).flatten() - real).abs().mean()
    assert err_after < err_before  # two epochs on 32 px: towards the training images' levels, not there yet


def test_sampling_tops_the_noise_up_to_the_predicted_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a noise head the pipeline adds fresh white noise up to the head's level (``acquisition_noise``,
    default on), deterministic per (seed, key); off, or without a head, the networks' estimate is returned."""
    from ccnet_zoo.models.factory import build_controller, build_denoiser, build_text_encoder
    from ccnet_zoo.models.mean import noise_level
    from ccnet_zoo.pipeline import CCNetPipeline
    from ccnet_zoo.pipeline import ccnet as module

    cfg = CCNetConfig.from_dict(deep_merge(residual32(), {"mean": {"noise": {"features": [4, 4, 4, 4, 4, 4]}}}))
    torch.manual_seed(0)
    unet = build_denoiser(cfg)
    parts = (build_autoencoder(cfg), unet, build_controller(cfg, unet), build_text_encoder(cfg, [""]))
    mean = build_mean(cfg)
    level = 0.3  # well above what the untrained networks' output has
    with torch.no_grad():
        mean.noise_net.final_conv.weight.zero_()
        mean.noise_net.final_conv.bias.fill_(0.0)
        shift = torch.log(torch.tensor(level)) - mean.log_noise_sd(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1))
        mean.noise_net.final_conv.bias.fill_(float(shift))
    pipe = CCNetPipeline(*parts, cfg, mean=mean)
    # smooth inputs and no sampled residual: the untrained networks' output itself has almost no noise
    coarse = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(1)) * 1.2 - 0.6
    pre = torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)
    monkeypatch.setattr(module, "ddim_sample", lambda *args, **kwargs: torch.zeros_like(args[3]))
    acq = torch.tensor([[100.0], [300.0], [600.0]])
    plain = pipe(pre, acq, seed=3, steps=4, acquisition_noise=False)
    noisy = pipe(pre, acq, seed=3, steps=4)
    assert noise_level(plain).max() < level / 2
    assert torch.allclose(noise_level(noisy), torch.full((3,), level), rtol=0.15)  # clamping trims a little
    assert torch.equal(pipe(pre[1:], acq[1:], seed=3, steps=4, keys=[1, 2]), noisy[1:])  # per item, not per batch
    assert not torch.equal(pipe(pre, acq, seed=4, steps=4), noisy)
    off = CCNetPipeline(*parts, cfg.with_overrides({"sample": {"acquisition_noise": False}}), mean=mean)
    assert torch.equal(off(pre, acq, seed=3, steps=4), plain)
