"""monai-generative checkpoints (old layer names, ccnet's dict layout) load into MONAI core with equal outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ccnet_zoo.models.autoencoder import MonaiAutoencoder
from ccnet_zoo.models.controlnet import MonaiController
from ccnet_zoo.models.errors import CheckpointError
from ccnet_zoo.models.legacy import load_monai_generative
from ccnet_zoo.models.unet import MonaiDenoiser

AE = {
    "in_channels": 1,
    "out_channels": 1,
    "channels": [8, 16],
    "latent_channels": 2,
    "num_res_blocks": 1,
    "attention_levels": [False, True],
    "norm_num_groups": 4,
}
UNET = {
    "in_channels": 2,
    "out_channels": 2,
    "channels": [8, 16],
    "attention_levels": [False, True],
    "num_head_channels": [0, 8],
    "num_res_blocks": 1,
    "norm_num_groups": 4,
    "cross_attention_dim": 8,
}


def to_old(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename MONAI-core keys back to monai-generative's (the inverse of ``load_old_state_dict``)."""
    out = {}
    for key, value in sd.items():
        old = key
        if "transformer_blocks" in key and ".out_proj." in key:
            old = key.replace(".out_proj.", ".to_out.0.")
        elif ".attn.out_proj." in key:
            old = key.replace(".attn.out_proj.", ".proj_attn.")
        elif ".attn.to_" in key:
            old = key.replace(".attn.to_", ".to_")
        out[old.replace("postconv", "conv")] = value.clone()
    return out


def _perturb(module: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))


def test_autoencoder_from_old_checkpoint_file(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = MonaiAutoencoder({**AE, "with_encoder_nonlocal_attn": True, "with_decoder_nonlocal_attn": True})
    _perturb(src, 1)
    old = to_old(src.autoencoder.state_dict())
    assert any(k.endswith(".to_q.weight") for k in old) and not any(".attn.to_q" in k for k in old)
    for key in [k for k in old if k.endswith(".to_q.weight")]:  # monai-generative AEs carry proj_attn layers
        block, ch = key[: -len(".to_q.weight")], old[key].shape[0]
        old[f"{block}.proj_attn.weight"], old[f"{block}.proj_attn.bias"] = torch.eye(ch), torch.zeros(ch)
    torch.save({"stage1": old, "epoch": 3}, tmp_path / "old.pth")
    dst = MonaiAutoencoder({**AE, "with_encoder_nonlocal_attn": True, "with_decoder_nonlocal_attn": True})
    load_monai_generative(dst, tmp_path / "old.pth")
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(dst.encode(x, sample=False), src.encode(x, sample=False))
        assert torch.equal(dst.decode(torch.ones(2, 2, 8, 8)), src.decode(torch.ones(2, 2, 8, 8)))


def test_unet_and_controlnet_from_ccnet_dicts() -> None:
    torch.manual_seed(0)
    unet = MonaiDenoiser(UNET)
    _perturb(unet, 2)
    old = to_old(unet.net.state_dict())
    assert any(".to_out.0." in k for k in old)
    copy = MonaiDenoiser(UNET)
    load_monai_generative(copy, {"diffusion": old, "optimizer": {}, "epoch": 1, "best_loss": 0.1})
    cn_params = {
        **{k: v for k, v in UNET.items() if k != "out_channels"},
        "conditioning_embedding_num_channels": [4, 8],
    }
    cn = MonaiController(cn_params)
    _perturb(cn, 3)
    cn_copy = MonaiController(cn_params)
    load_monai_generative(cn_copy, {"controlnet": to_old(cn.net.state_dict())})
    z, t, ctx, acq = torch.randn(2, 2, 8, 8), torch.tensor([3, 700]), torch.randn(2, 4, 8), torch.tensor([[0.0], [9.0]])
    cond = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(copy(z, t, ctx, acq), unet(z, t, ctx, acq))
        d1, m1 = cn(z, t, cond, ctx, acq)
        d2, m2 = cn_copy(z, t, cond, ctx, acq)
        assert torch.equal(m1, m2) and all(torch.equal(a, b) for a, b in zip(d1, d2, strict=True))


def test_old_checkpoint_without_acq_mlp_keeps_it() -> None:
    unet = MonaiDenoiser(UNET)
    old = {k: v for k, v in to_old(unet.net.state_dict()).items() if not k.startswith("class_embedding.")}
    before = unet.net.class_embedding.mlp[0].weight.clone()
    load_monai_generative(unet, old)
    assert torch.equal(unet.net.class_embedding.mlp[0].weight, before)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_monai_generative(MonaiDenoiser(UNET), tmp_path / "none.pth")
    with pytest.raises(CheckpointError, match="no 'diffusion' entry"):
        load_monai_generative(MonaiDenoiser(UNET), {"controlnet": {}}, key="diffusion")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_monai_generative(MonaiDenoiser(UNET), {"diffusion": {"conv_in.conv.weight": torch.zeros(1)}})
