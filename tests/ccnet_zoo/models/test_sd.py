"""The SD-2.1-base path (diffusers UNet/VAE/ControlNet + transformers CLIP) behind CC-Net's interfaces,
exercised end to end with tiny randomly initialised models written to a local folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ccnet_zoo.models.config import load_config
from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.factory import build_autoencoder, build_controller, build_denoiser, build_text_encoder
from ccnet_zoo.pipeline import CCNetPipeline
from ccnet_zoo.train.api import train_stage


def _clip_tokenizer_files(folder: Path) -> None:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list(".-,")
    vocab = {
        tok: i for i, tok in enumerate([*letters, *(c + "</w>" for c in letters), "<|startoftext|>", "<|endoftext|>"])
    }
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")


@pytest.fixture(scope="module")
def sd_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    root = Path(tmp_path_factory.mktemp("sd21"))
    UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=2,
        norm_num_groups=4,
    ).save_pretrained(root / "unet")
    AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(8, 16),
        latent_channels=4,
        norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        layers_per_block=1,
    ).save_pretrained(root / "vae")
    _clip_tokenizer_files(root / "tokenizer")
    tok = CLIPTokenizer(str(root / "tokenizer" / "vocab.json"), str(root / "tokenizer" / "merges.txt"))
    tok.save_pretrained(root / "tokenizer")
    cfg = CLIPTextConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        vocab_size=len(tok),
        max_position_embeddings=16,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    CLIPTextModel(cfg).save_pretrained(root / "text_encoder")
    return root


def _cfg() -> dict:
    return load_config(
        "sd21",
        {
            "image_size": 16,
            "text": {"max_length": 8},
            "controlnet": {"params": {"conditioning_embedding_num_channels": [4, 8]}},
            "train": {s: {"epochs": 1, "batch_size": 4, "amp": False} for s in ("ldm", "controlnet")},
            "sample": {"steps": 3, "batch_size": 4},
        },
    )


def test_components_behind_the_interfaces(sd_folder: Path) -> None:
    cfg = _cfg()
    autoencoder = build_autoencoder(cfg, sd_folder)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    z = autoencoder.encode(x, sample=False)
    assert z.shape == (2, 4, 8, 8) and autoencoder.decode(z).shape == (2, 1, 16, 16)
    assert not any(p.requires_grad for p in autoencoder.parameters())  # the SD VAE stays frozen
    text = build_text_encoder(cfg, pretrained=sd_folder)
    ctx = text.encode(["a breast.", ""])
    assert ctx.shape == (2, 8, 16) and not any(p.requires_grad for p in text.parameters())
    unet = build_denoiser(cfg, sd_folder)
    acq = torch.tensor([[0.0], [600.0]])
    assert unet(z, torch.tensor([1, 900]), ctx, acq).shape == z.shape
    cn = build_controller(cfg, unet)
    down, mid = cn(z, torch.tensor([1, 900]), x, ctx, acq, 1.5)
    assert len(down) > 0 and mid.shape[0] == 2
    assert torch.equal(cn.controlnet.conv_in.weight, unet.unet.conv_in.weight)  # from_unet copied it
    assert cn.controlnet.class_embedding is not unet.unet.class_embedding


@pytest.mark.slow
def test_sd_training_and_sampling(sd_folder: Path, zoo_phantom: Path, tmp_path: Path) -> None:
    cfg = _cfg()
    with pytest.raises(ConfigError, match="does not train"):
        train_stage("ae", cfg, zoo_phantom, tmp_path / "ae", pretrained=sd_folder, progress=False)
    train_stage("ldm", cfg, zoo_phantom, tmp_path / "ldm", pretrained=sd_folder, progress=False)
    train_stage(
        "controlnet", cfg, zoo_phantom, tmp_path / "cn", ldm=tmp_path / "ldm", pretrained=sd_folder, progress=False
    )
    pipe = CCNetPipeline.from_pretrained(tmp_path / "cn")
    out = pipe(torch.zeros(2, 1, 16, 16), torch.tensor([[100.0], [500.0]]), ["a breast."] * 2, guidance=1.0)
    assert out.shape == (2, 1, 16, 16) and torch.isfinite(out).all()


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--pretrained"):
        build_denoiser(_cfg())
    with pytest.raises(ConfigError, match="no 'unet' folder"):
        build_denoiser(_cfg(), tmp_path)
