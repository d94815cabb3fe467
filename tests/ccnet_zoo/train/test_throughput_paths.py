"""The GPU throughput code paths, exercised on the CPU: no per-step host sync, bf16 autocast, channels_last,
fused AdamW with its fallback, torch.compile with its fallback, preloaded images, pinned batches, and
matplotlib/checkpoints off the per-epoch path."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from torch import nn
from zoo_helpers import read_csv, tiny32

import ccnet_zoo.train.loop as loop
from ccnet_zoo.train.api import train_stage
from ccnet_zoo.train.runtime import Runtime, adamw, channels_last_wanted, compile_module


@pytest.mark.slow
def test_train_steps_never_sync_with_the_device(zoo_phantom: Path, tmp_path: Path, monkeypatch) -> None:
    """Losses stay tensors inside a step; ccnet_zoo reads them once per epoch (and every log_every steps).

    Only reads made by ccnet_zoo's own code count (torch's CPU optimizer reads its CPU step counters, which
    never waits for a GPU)."""
    import sys

    from ccnet_zoo.train.ae import AutoencoderStage

    reads = {"in_step": 0, "total": 0, "steps": 0}
    inside = {"on": False}
    real_item, real_float = torch.Tensor.item, torch.Tensor.__float__

    def count() -> None:
        if sys._getframe(2).f_globals.get("__name__", "").startswith("ccnet_zoo"):
            reads["total"] += 1
            reads["in_step"] += inside["on"]

    def item(self):
        count()
        return real_item(self)

    def as_float(self):
        count()
        return real_float(self)

    original = AutoencoderStage.train_step

    def step(self, batch, epoch):
        inside["on"] = True
        try:
            return original(self, batch, epoch)
        finally:
            inside["on"] = False
            reads["steps"] += 1

    monkeypatch.setattr(torch.Tensor, "item", item)
    monkeypatch.setattr(torch.Tensor, "__float__", as_float)
    monkeypatch.setattr(AutoencoderStage, "train_step", step)
    train_stage(
        "ae",
        tiny32(ae={"epochs": 2, "adv_start_epoch": 0, "batch_size": 2}),
        zoo_phantom,
        tmp_path / "ae",
        progress=False,
    )
    assert reads["steps"] >= 8 and reads["in_step"] == 0
    assert reads["total"] < reads["steps"]  # per epoch, not per step
    rows = read_csv(tmp_path / "ae" / "losses.csv")
    assert float(rows[1]["train_disc"]) > 0 and float(rows[1]["train_loss"]) > 0


@pytest.mark.slow
def test_plot_once_and_checkpoints_at_intervals(zoo_phantom: Path, tmp_path: Path, monkeypatch) -> None:
    plots: list[int] = []
    saves: list[str] = []
    real_plot, real_save = loop.plot_losses, loop.save_checkpoint
    monkeypatch.setattr(
        loop, "plot_losses", lambda path, rows, title: (plots.append(len(rows)), real_plot(path, rows, title))
    )
    monkeypatch.setattr(
        loop, "save_checkpoint", lambda f, name, t, m: (saves.append(name), real_save(f, name, t, m))[1]
    )
    monkeypatch.setattr(loop, "CHECKPOINT_SECONDS", 1e9)  # default (checkpoint_every 0): by time, and at the end
    train_stage("ae", tiny32(ae={"epochs": 3}), zoo_phantom, tmp_path / "a", progress=False)
    assert plots == [3] and saves.count("last") == 1 and saves.count("best") == 1
    saves.clear()
    train_stage("ae", tiny32(ae={"epochs": 3, "checkpoint_every": 2}), zoo_phantom, tmp_path / "b", progress=False)
    assert saves.count("last") == 2  # after epoch 2 and at the end
    assert (tmp_path / "b" / "losses.png").stat().st_size > 0


def test_bf16_autocast_path_runs_on_the_cpu() -> None:
    rt = Runtime(torch.device("cpu"), amp=True, amp_dtype=torch.bfloat16)
    lin = nn.Linear(4, 4)
    with rt.autocast():
        y = lin(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16 and not rt.scale_loss
    assert Runtime(torch.device("cpu")).autocast().__class__.__name__ == "nullcontext"


@pytest.mark.slow
def test_channels_last_training_on_the_cpu(zoo_phantom: Path, tmp_path: Path) -> None:
    assert channels_last_wanted("auto", torch.device("cuda", 0)) and not channels_last_wanted(
        "auto", torch.device("cpu")
    )
    assert channels_last_wanted(True, torch.device("cpu"))
    rt = Runtime(torch.device("cpu"), channels_last=True)
    conv = rt.place(nn.Conv2d(2, 4, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert rt.to_device(torch.randn(2, 2, 8, 8)).is_contiguous(memory_format=torch.channels_last)
    train_stage(
        "ldm",
        tiny32(ldm={"channels_last": True}),
        zoo_phantom,
        tmp_path / "ldm",
        progress=False,
        ae=_ae(zoo_phantom, tmp_path),
        mean=_mean(zoo_phantom, tmp_path),
    )
    rows = read_csv(tmp_path / "ldm" / "losses.csv")
    assert float(rows[0]["train_loss"]) > 0


def _ae(zoo_phantom: Path, tmp_path: Path) -> Path:
    train_stage("ae", tiny32(), zoo_phantom, tmp_path / "ae", progress=False)
    return tmp_path / "ae"


def _mean(zoo_phantom: Path, tmp_path: Path) -> Path:
    train_stage("mean", tiny32(), zoo_phantom, tmp_path / "mean", progress=False)
    return tmp_path / "mean"


def test_fused_adamw_and_its_fallback(monkeypatch, caplog) -> None:
    p = [nn.Parameter(torch.ones(3))]
    assert adamw(p, 1e-3, 0.0, torch.device("cpu")).defaults["fused"]  # torch >= 2.4 has a fused CPU kernel
    assert not adamw(p, 1e-3, 0.0, torch.device("cpu"), fused=False).defaults.get("fused")
    seen: list[object] = []
    real = torch.optim.AdamW

    def no_fused(params, **kw):
        seen.append(kw.get("fused"))
        if kw.get("fused"):
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported devices")
        return real(params, **kw)

    monkeypatch.setattr(torch.optim, "AdamW", no_fused)
    with caplog.at_level(logging.WARNING):
        opt = adamw(p, 1e-3, 0.0, torch.device("cuda", 0))  # a GPU asks for fused by default
    assert seen == [True, None] and isinstance(opt, real) and "fused AdamW not available" in caplog.text


def test_compile_is_an_option_with_a_fallback(caplog) -> None:
    m = nn.Linear(3, 2)
    assert compile_module(m, False) is m
    with caplog.at_level(logging.WARNING):
        assert compile_module(m, "no-such-backend") is m
    assert "running eagerly" in caplog.text
    compiled = compile_module(m, "eager")
    x = torch.randn(4, 3)
    assert compiled is not m and torch.allclose(compiled(x), m(x))


def test_preloaded_images_are_decoded_once(zoo_phantom: Path, monkeypatch) -> None:
    import ccnet_zoo.data.dataset as dataset
    from ccnet_zoo.data.dataset import PairedDCEDataset
    from ccnet_zoo.train.data import ImageDataset, load_rows, preload_wanted

    rows = load_rows(zoo_phantom)["train"][:6]
    plain = PairedDCEDataset(rows, 32, augment=True, seed=3)
    cached = PairedDCEDataset(rows, 32, augment=True, seed=3, preload=True)
    images = ImageDataset(rows, 32, preload=True)
    expected = {}
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        expected[epoch] = [plain[i] for i in range(len(rows))]
    monkeypatch.setattr(dataset, "load_image", lambda *a: pytest.fail("decoded again after preloading"))
    monkeypatch.setattr(dataset, "load_mask", lambda *a: pytest.fail("decoded again after preloading"))
    for epoch in (0, 1):
        cached.set_epoch(epoch)
        for i, e in enumerate(expected[epoch]):
            got = cached[i]
            for key in ("source", "target", "mask"):
                assert torch.equal(got[key], e[key])
    assert images[0]["image"].shape == (1, 32, 32)
    assert preload_wanted(None, 1000, 224) and not preload_wanted(None, 10**6, 512) and not preload_wanted(False, 1, 8)


def test_batches_are_pinned_for_a_gpu(zoo_phantom: Path) -> None:
    from ccnet_zoo.train.data import ImageDataset, load_rows

    ds = ImageDataset(load_rows(zoo_phantom)["train"], 32)
    gpu = Runtime(torch.device("cuda", 0))
    assert loop._loader(ds, 2, gpu, 0, 0, True, 2).pin_memory
    assert not loop._loader(ds, 2, Runtime(torch.device("cpu")), 0, 0, True, 0).pin_memory


def test_cached_posteriors_give_the_latents_of_the_encoder(zoo_phantom: Path) -> None:
    from ccnet_zoo.data.dataset import PairedDCEDataset
    from ccnet_zoo.models.config import CCNetConfig
    from ccnet_zoo.models.factory import build_autoencoder, build_mean
    from ccnet_zoo.train.data import load_rows
    from ccnet_zoo.train.diffusion import DiffusionObjective

    cfg = CCNetConfig.from_dict(tiny32())
    rows = load_rows(zoo_phantom)["train"][:12]
    ds = PairedDCEDataset(rows, 32, augment=True, seed=1, preload=True)
    for i in range(len(rows)):  # the flag says whether the target is still the image as loaded
        item = ds[i]
        assert torch.equal(item["target"], ds.image(item["target_path"])) != item["augmented"]
    rt = Runtime(torch.device("cpu"))
    obj = DiffusionObjective(cfg, build_autoencoder(cfg), None, rt, mean=build_mean(cfg))  # type: ignore[arg-type]
    calls: list[int] = []
    real = obj.autoencoder.posterior
    obj.autoencoder.posterior = lambda x: (calls.append(len(x)), real(x))[1]  # type: ignore[method-assign]
    obj.cache_posteriors([str(r["target"]) for r in rows], ds.image)
    assert len(obj.cache) == len({str(r["target"]) for r in rows}) and calls == [len(obj.cache)]
    paths = [str(r["target"]) for r in rows]
    x = torch.stack([ds.image(p) for p in paths])
    augmented = [i % 3 == 0 for i in range(len(paths))]
    calls.clear()
    torch.manual_seed(5)
    cached = obj.latents(x, paths, augmented)
    assert calls == [sum(augmented)]  # only the augmented targets go through the encoder
    torch.manual_seed(5)
    fresh = obj.autoencoder.encode(x, sample=True)
    assert torch.allclose(cached, fresh, atol=1e-5)  # same posteriors, same random numbers
