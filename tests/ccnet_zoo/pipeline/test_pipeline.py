"""Sampling: deterministic under a seed, independent of batching, guidance and conditioning-scale options,
uint8 PNGs named and oriented as the real images, one folder per phase."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ccnet_zoo.data.dataset import load_image
from ccnet_zoo.data.layout import IMAGE_RE, read_png
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.pipeline import CCNetPipeline, generate_split, item_noise, read_manifest, to_uint8
from ccnet_zoo.train.data import load_rows


@pytest.fixture(scope="module")
def pipe(trained_runs: dict[str, Path]) -> CCNetPipeline:
    p = CCNetPipeline.from_pretrained(trained_runs["controlnet"])
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # one epoch leaves the zero convolutions near zero: make the control visible
        for prm in p.controlnet.parameters():
            prm.add_(0.05 * torch.randn(prm.shape, generator=g))
    return p


def _inputs(n: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(4)
    return torch.rand(n, 1, 32, 32, generator=g) * 2 - 1, torch.tensor([[100.0], [300.0], [600.0]])[:n]


def test_same_seed_same_images_and_batching_does_not_matter(pipe: CCNetPipeline) -> None:
    pre, acq = _inputs()
    a = pipe(pre, acq, seed=3)
    assert torch.equal(a, pipe(pre, acq, seed=3))
    assert not torch.allclose(a, pipe(pre, acq, seed=4))
    single = torch.cat([pipe(pre[i : i + 1], acq[i : i + 1], seed=3, keys=[i]) for i in range(3)])
    assert torch.allclose(a, single, atol=1e-4)
    assert a.shape == (3, 1, 32, 32) and a.min() >= -1 and a.max() <= 1


def _sampled_latents(pipe: CCNetPipeline, monkeypatch: pytest.MonkeyPatch, *args, **kwargs) -> torch.Tensor:
    """The latents the DDIM loop returned for ``pipe(*args, **kwargs)`` (before decoding and, where the config
    diffuses the change, before it is added to the input)."""
    from ccnet_zoo.pipeline import ccnet as module

    seen: list[torch.Tensor] = []
    real = module.ddim_sample
    monkeypatch.setattr(module, "ddim_sample", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    pipe(*args, **kwargs)
    monkeypatch.setattr(module, "ddim_sample", real)
    return seen[0]


def test_guidance_and_conditioning_scale(pipe: CCNetPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    pre, acq = _inputs(2)
    prompts = ["dynamic contrast-enhanced magnetic resonance image of a breast."] * 2
    uncond = pipe(pre, acq, prompts, guidance="uncond", seed=1)
    text = pipe(pre, acq, prompts, guidance="text", seed=1)
    assert torch.allclose(pipe(pre, acq, [""] * 2, guidance="text", seed=1), uncond, atol=1e-6)
    assert torch.allclose(pipe(pre, acq, prompts, guidance=1.0, seed=1), text, atol=1e-4)  # g=1 is the text
    assert not torch.allclose(uncond, text)

    def sampled(value: float, scale: float) -> torch.Tensor:
        return _sampled_latents(pipe, monkeypatch, torch.full_like(pre, value), acq, conditioning_scale=scale, seed=1)

    assert torch.equal(sampled(-1.0, 0.0), sampled(1.0, 0.0))  # scale 0: the ControlNet has no influence
    assert not torch.allclose(sampled(-1.0, 1.0), sampled(1.0, 1.0))


def test_strength_starts_from_the_pre_contrast_latents(pipe: CCNetPipeline) -> None:
    pre, acq = _inputs(2)
    full = pipe(pre, acq, seed=1, strength=1.0)  # 1 = from pure noise (the paper)
    partial = pipe(pre, acq, seed=1, strength=0.25)  # 1 of the 4 steps, from the pre-contrast latents
    assert torch.equal(partial, pipe(pre, acq, seed=1, strength=0.25))
    assert torch.equal(pipe(pre, acq, seed=1), pipe(pre, acq, seed=1, strength=pipe.config.sample.strength or 1.0))
    if pipe.config.ldm.target == "change":  # the last step starts next to "no change": near the input itself
        near = pre
    elif pipe.config.ldm.target == "residual":  # next to "no residual": near the conditional mean
        with torch.no_grad():
            near = pipe.mean(pre, acq).clamp(-1, 1)
    else:  # the last step starts next to the pre-contrast latents: near their reconstruction
        near = pipe.autoencoder.decode(pipe.autoencoder.encode(pre, sample=False)).clamp(-1, 1)
    assert (partial - near).abs().mean() < 0.5 * (full - near).abs().mean()
    for bad in (0.0, 1.5):
        with pytest.raises(ModelError, match="strength"):
            pipe(pre, acq, seed=1, strength=bad)


def test_eta_adds_per_item_noise_independent_of_the_batching(pipe: CCNetPipeline) -> None:
    pre, acq = _inputs()  # all steps (strength 1): with tiny's 0.25 of 4 steps, one step has no eta noise
    plain = pipe(pre, acq, seed=1, strength=1.0, eta=0.0)  # 0: deterministic DDIM (the paper)
    noisy = pipe(pre, acq, seed=1, strength=1.0, eta=1.0)
    assert not torch.allclose(noisy, plain) and torch.equal(noisy, pipe(pre, acq, seed=1, strength=1.0, eta=1.0))
    assert pipe.config.sample.eta == 1.0 and torch.equal(pipe(pre, acq, seed=1, strength=1.0), noisy)  # tiny's eta
    single = torch.cat(
        [pipe(pre[i : i + 1], acq[i : i + 1], seed=1, keys=[i], strength=1.0, eta=1.0) for i in range(3)]
    )
    assert torch.allclose(noisy, single, atol=1e-4)
    with pytest.raises(ModelError, match="eta"):
        pipe(pre, acq, seed=1, strength=1.0, eta=-0.5)


def test_ddim_step_with_eta_is_monais() -> None:
    from ccnet_zoo.models.config import load_config
    from ccnet_zoo.models.schedulers import build_ddim
    from ccnet_zoo.sample.ddim import ddim_step

    ddim = build_ddim(load_config("tiny", typed=True).scheduler, 20)
    g = torch.Generator().manual_seed(0)
    z, pred = torch.randn(2, 8, 4, 4, generator=g), torch.randn(2, 8, 4, 4, generator=g)
    for step in (950, 500, 0):  # 0: the last step (final alpha)
        noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(step))
        want, _ = ddim.step(pred, step, z, eta=0.7, generator=torch.Generator().manual_seed(step))
        assert torch.allclose(ddim_step(ddim, pred, step, z, 0.7, noise), want, atol=1e-5)


def test_partial_timesteps() -> None:
    from ccnet_zoo.sample.ddim import partial_timesteps

    steps = torch.tensor([750, 500, 250, 0])
    assert partial_timesteps(steps, 1.0).tolist() == [750, 500, 250, 0]
    assert partial_timesteps(steps, 0.5).tolist() == [250, 0]
    assert partial_timesteps(steps, 0.01).tolist() == [0]  # at least one step


def test_generated_files(pipe: CCNetPipeline, zoo_phantom: Path, tmp_path: Path) -> None:
    rows = load_rows(zoo_phantom)["test"]
    res = generate_split(pipe, rows, tmp_path / "gen", batch_size=4, progress=False)
    assert res.n_images == len(rows)
    manifest = read_manifest(tmp_path / "gen")
    for row in manifest:
        path = Path(row["generated"])
        assert path.parent.name == f"p{row['phase']}" and path.name == Path(row["target"]).name
        assert IMAGE_RE.match(path.name)
        img = read_png(path)
        assert img.dtype == np.uint8 and img.shape == read_png(Path(row["target"])).shape
    with pytest.raises(ModelError, match="--overwrite"):
        generate_split(pipe, rows, tmp_path / "gen", progress=False)
    with pytest.raises(ModelError, match="no rows"):
        generate_split(pipe, [], tmp_path / "other", progress=False)


def test_written_images_keep_the_model_orientation(pipe: CCNetPipeline, zoo_phantom: Path, tmp_path: Path) -> None:
    """The PNG holds the pipeline output pixel for pixel (no transpose/flip, unlike CC-Net's MONAI loader)."""
    rows = load_rows(zoo_phantom)["test"][:2]
    generate_split(pipe, rows, tmp_path / "gen", batch_size=2, progress=False)
    pre = torch.stack([load_image(r["source"], 32) for r in rows])
    acq = torch.tensor([[float(r["acquisition_time"])] for r in rows])
    expected = to_uint8(pipe(pre, acq, [str(r["report"]) for r in rows], keys=[0, 1]))
    for row, exp in zip(read_manifest(tmp_path / "gen"), expected, strict=True):
        got = read_png(Path(row["generated"]))
        assert np.array_equal(got, exp)
        assert not np.array_equal(got, exp.T)


def test_uint8_mapping_and_noise() -> None:
    assert to_uint8(torch.tensor([[[[-2.0, -1.0, 0.0, 1.0]]]])).tolist() == [[[0, 0, 128, 255]]]
    a = item_noise((2, 3, 3), seed=1, keys=[5, 6])
    assert torch.equal(a[1], item_noise((2, 3, 3), seed=1, keys=[6])[0])


def test_wrong_input_size(pipe: CCNetPipeline) -> None:
    with pytest.raises(ModelError, match=r"\(B, 1, 32, 32\)"):
        pipe(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1))


def test_manifest_paths_are_relative_to_itself(pipe: CCNetPipeline, zoo_phantom: Path, tmp_path: Path) -> None:
    import csv
    import os
    import shutil

    rows = load_rows(zoo_phantom)["test"][:3]
    generate_split(pipe, rows, tmp_path / "gen", batch_size=4, progress=False)
    with open(tmp_path / "gen" / "generated.tsv", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh, delimiter="\t"))
    for r in raw:
        for key in ("source", "target", "segmentation_mask", "generated"):
            assert r[key] and not os.path.isabs(r[key]), (key, r[key])
        assert r["generated"] == f"p{r['phase']}/{Path(r['target']).name}"
    assert all(Path(r["source"]).is_file() for r in read_manifest(tmp_path / "gen"))  # resolved to absolute
    shutil.copytree(tmp_path / "gen", tmp_path / "moved")  # the images move with their manifest
    moved = read_manifest(tmp_path / "moved")
    assert all(
        Path(r["generated"]).is_file() and Path(r["generated"]).is_relative_to(tmp_path / "moved") for r in moved
    )


@pytest.mark.parametrize("pid", ["../evil", "a/b", "..", "c:\\x", "a\\b", ""])
def test_patient_ids_with_separators_are_refused(
    pipe: CCNetPipeline, zoo_phantom: Path, tmp_path: Path, pid: str
) -> None:
    rows = [{**load_rows(zoo_phantom)["test"][0], "patient_id": pid}]
    with pytest.raises(ModelError, match="cannot be part of a file name"):
        generate_split(pipe, rows, tmp_path / "gen", progress=False)
    assert not any(tmp_path.rglob("*.png"))  # refused before any work
