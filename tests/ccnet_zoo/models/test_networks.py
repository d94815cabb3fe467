"""Shapes and conditioning paths of the tiny networks (acquisition time, ControlNet init and scale)."""

from __future__ import annotations

import copy

import pytest
import torch

from ccnet_zoo.models.acq_time import AcquisitionTimeEmbedding
from ccnet_zoo.models.config import load_config
from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.factory import build_autoencoder, build_controller, build_denoiser, build_text_encoder


@pytest.fixture(scope="module")
def parts() -> dict:
    torch.manual_seed(0)
    cfg = load_config("tiny", {"image_size": 32})
    unet = build_denoiser(cfg).eval()
    cn = build_controller(cfg, unet).eval()
    text = build_text_encoder(cfg, ["a breast image.", "another prompt"])
    return {"cfg": cfg, "codec": build_autoencoder(cfg).eval(), "unet": unet, "cn": cn, "text": text}


def _inputs(b: int = 2) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    return (
        torch.randn(b, 2, 32, 32, generator=g),  # tiny: 2 latent channels, full resolution
        torch.tensor([10, 500])[:b],
        torch.rand(b, 1, 32, 32, generator=g),
        torch.tensor([[0.0], [600.0]])[:b],
    )


@torch.no_grad()
def test_codec_round_trip_shapes(parts: dict) -> None:
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    z = parts["codec"].encode(x, sample=False)
    assert z.shape == (2, 2, 32, 32)
    assert parts["codec"].decode(z).shape == x.shape


@torch.no_grad()
def test_acquisition_time_changes_the_prediction(parts: dict) -> None:
    z, t, _, _acq = _inputs()
    unet = copy.deepcopy(parts["unet"])
    g = torch.Generator().manual_seed(2)
    for p in unet.parameters():  # MONAI zero-initialises the output and residual convolutions
        p.add_(0.05 * torch.randn(p.shape, generator=g))
    ctx = parts["text"].encode(["a breast image.", "a breast image."])
    same = unet(z, t, ctx, torch.zeros(2, 1))
    later = unet(z, t, ctx, torch.full((2, 1), 900.0))
    assert same.shape == z.shape
    assert (same - later).abs().max() > 1e-4


def test_acq_embedding_scales_seconds() -> None:
    a, b = AcquisitionTimeEmbedding(8, scale=1e-3), AcquisitionTimeEmbedding(8, scale=1.0)
    b.load_state_dict(a.state_dict())
    assert torch.allclose(a(torch.tensor([[500.0]])), b(torch.tensor([[0.5]])))


@torch.no_grad()
def test_controlnet_starts_as_the_unet_and_scales_residuals(parts: dict) -> None:
    unet, cn = parts["unet"], parts["cn"]
    copied = cn.init_from(unet)
    assert copied > 50
    for name, p in cn.net.named_parameters():
        if name.startswith(("conv_in", "time_embed", "down_blocks", "class_embedding")):
            assert torch.equal(p, unet.net.state_dict()[name]), name
    z, t, cond, acq = _inputs()
    ctx = parts["text"].encode(["", ""])
    down, mid = cn(z, t, cond, ctx, acq, 1.0)
    assert all(d.abs().max() == 0 for d in down) and mid.abs().max() == 0  # zero convolutions at the start
    for p in cn.net.controlnet_down_blocks.parameters():
        p.add_(0.01)
    down1, _ = cn(z, t, cond, ctx, acq, 1.0)
    down2, _ = cn(z, t, cond, ctx, acq, 2.0)
    assert torch.allclose(down2[0], 2 * down1[0], atol=1e-6) and down1[0].abs().max() > 0
    unet = copy.deepcopy(unet)
    for p in unet.net.out.parameters():
        p.add_(0.05)
    assert not torch.allclose(unet(z, t, ctx, acq, down1, mid), unet(z, t, ctx, acq))


def test_text_width_must_match_cross_attention() -> None:
    cfg = load_config("tiny", {"text": {"hidden_size": 16}})
    with pytest.raises(ConfigError, match="cross_attention_dim"):
        build_text_encoder(cfg, ["x"])


def test_bad_network_params_raise_config_error() -> None:
    cfg = load_config("tiny", {"ldm": {"params": {"channels": [30, 64]}}})
    with pytest.raises(ConfigError, match="DiffusionModelUNet"):
        build_denoiser(cfg)
