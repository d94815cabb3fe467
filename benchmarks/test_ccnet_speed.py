"""CC-Net speed with the ``tiny`` config (64x64, one CPU thread): training steps/s per stage and sampled
images/s, batched vs one image at a time (the reference samples with batch 1).

Run with ``make bench``; the numbers are written to build/benchmarks/ccnet_speed.json and printed at the end.
Untrained weights: speed does not depend on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ccnet_zoo.models.config import load_config
from ccnet_zoo.models.factory import (
    build_autoencoder,
    build_controller,
    build_denoiser,
    build_mean,
    build_text_encoder,
)
from ccnet_zoo.pipeline import CCNetPipeline
from ccnet_zoo.train.runtime import Runtime

RESULTS: dict[str, float] = {}
OUT = Path(__file__).parents[1] / "build" / "benchmarks" / "ccnet_speed.json"
N_IMAGES = 16
PROMPT = "dynamic contrast-enhanced magnetic resonance image of a breast."


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = load_config("tiny", typed=True)
    size, bs = cfg.image_size, cfg.train["ldm"].batch_size
    g = torch.Generator().manual_seed(1)
    batch = {
        "image": torch.rand(bs, 1, size, size, generator=g) * 2 - 1,
        "source": torch.rand(bs, 1, size, size, generator=g) * 2 - 1,
        "target": torch.rand(bs, 1, size, size, generator=g) * 2 - 1,
        "acquisition_time": torch.linspace(100, 600, bs).reshape(bs, 1),
        "report": [PROMPT] * bs,
    }
    yield cfg, batch
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if "sample_batched" in RESULTS and "sample_batch1" in RESULTS:
        RESULTS["sample_speedup_batched_vs_batch1"] = RESULTS["sample_batched"] / RESULTS["sample_batch1"]
    OUT.write_text(json.dumps(RESULTS, indent=1) + "\n")
    print("\n" + json.dumps(RESULTS, indent=1))


def _parts(cfg):
    autoencoder = build_autoencoder(cfg)
    unet = build_denoiser(cfg)
    return autoencoder, unet, build_text_encoder(cfg, [PROMPT]), build_controller(cfg, unet)


def _mean(cfg):
    """The conditional-mean network where the config diffuses the residual around it, else None."""
    return build_mean(cfg) if cfg.ldm.target == "residual" else None


def _stage(name, cfg):
    rt = Runtime(torch.device("cpu"))
    if name == "ae":
        from ccnet_zoo.train.ae import AutoencoderStage

        return AutoencoderStage(cfg, rt)
    if name == "mean":
        from ccnet_zoo.train.mean import MeanStage

        return MeanStage(cfg, rt, build_mean(cfg))
    autoencoder, unet, text, cn = _parts(cfg)
    if name == "ldm":
        from ccnet_zoo.train.ldm import LDMStage

        return LDMStage(cfg, rt, autoencoder, unet, text, _mean(cfg))
    from ccnet_zoo.train.controlnet import ControlNetStage

    return ControlNetStage(cfg, rt, autoencoder, unet, text, cn, _mean(cfg))


@pytest.mark.parametrize("stage", ["ae", "mean", "ldm", "controlnet"])
def test_train_steps_per_second(benchmark, setup, stage):
    cfg, batch = setup
    st = _stage(stage, cfg)
    epoch = cfg.train["ae"].adv_start_epoch  # AE steps with the adversarial terms on
    benchmark.pedantic(st.train_step, args=(batch, epoch), rounds=10, warmup_rounds=2)
    RESULTS[f"train_{stage}_steps_per_s"] = 1.0 / benchmark.stats.stats.median
    RESULTS["train_batch_size"] = len(batch["report"])


@pytest.mark.parametrize("batch_size", [N_IMAGES, 1])
def test_sampled_images_per_second(benchmark, setup, batch_size):
    cfg, batch = setup
    autoencoder, unet, text, cn = _parts(cfg)
    pipe = CCNetPipeline(autoencoder, unet, cn, text, cfg, mean=_mean(cfg))
    pre = batch["source"][:1].repeat(N_IMAGES, 1, 1, 1)
    acq = torch.full((N_IMAGES, 1), 300.0)

    def run():
        for i in range(0, N_IMAGES, batch_size):
            pipe(pre[i : i + batch_size], acq[i : i + batch_size], keys=range(i, i + min(batch_size, N_IMAGES - i)))

    benchmark.pedantic(run, rounds=2, warmup_rounds=1)
    key = "sample_batched" if batch_size > 1 else "sample_batch1"
    RESULTS[key] = N_IMAGES / benchmark.stats.stats.median
    RESULTS["sample_steps"] = cfg.sample.steps
