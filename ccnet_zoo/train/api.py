"""``train_stage``: train one CC-Net stage from a config and a dataset into a run folder.

Run folder: ``config.yaml`` (resolved config), ``checkpoints/{best,last}.json`` + safetensors,
``losses.csv``, ``losses.png``. ``resume=True`` continues from ``checkpoints/last``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ccnet_zoo.models.config import STAGES, load_config
from ccnet_zoo.models.errors import ModelError

log = logging.getLogger(__name__)
_OWNED = ("checkpoints", "losses.csv", "losses.png", "config.yaml")


def _prepare_out(out: Path, resume: bool, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out} exists and is not a folder")
    has_run = (out / "checkpoints").exists()
    if has_run and overwrite:
        for name in _OWNED:
            p = out / name
            shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    elif has_run and not resume:
        raise ModelError(f"{out} already holds a run; pass --resume to continue it or --overwrite to start again")
    out.mkdir(parents=True, exist_ok=True)


def train_stage(
    stage: str,
    config: str | Path | Mapping[str, Any],
    data: str | Path,
    out: str | Path,
    *,
    ae: str | Path | None = None,
    ldm: str | Path | None = None,
    pretrained: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str | None = None,
    threads: int = 1,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> Path:
    """Train ``stage`` (``ae``, ``ldm`` or ``controlnet``); returns the path of the best checkpoint JSON."""
    from ccnet_zoo.models.factory import build_controller, build_denoiser, build_text_encoder
    from ccnet_zoo.models.loading import load_autoencoder, load_ldm
    from ccnet_zoo.train.data import ImageDataset, load_rows, prompts_of
    from ccnet_zoo.train.loop import Trainer
    from ccnet_zoo.train.runtime import Runtime, seed_all

    if stage not in STAGES:
        raise ModelError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    if isinstance(config, Mapping):
        from ccnet_zoo.models.config import deep_merge, validate_config

        cfg = deep_merge(config, overrides or {})
        validate_config(cfg)
    else:
        cfg = load_config(config, overrides)
    if stage not in cfg["train"]:
        raise ModelError(f"the config has no 'train.{stage}' section")
    tc = cfg["train"][stage]
    out = Path(out)
    rt = Runtime.create(device, amp=tc.get("amp", True), threads=threads)
    if rt.is_main:
        _prepare_out(out, resume, overwrite)
        (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    rt.barrier()
    rows = load_rows(data, cfg["text"]["source"])
    if not rows["train"]:
        raise ModelError(f"{data} has no training pairs")
    size = cfg["image_size"]
    seed_all(cfg["seed"], 999_983)  # identical initial weights on every rank and in every run
    meta: dict[str, Any] = {
        "stage": stage,
        "config": cfg,
        "data": str(Path(data).resolve()),
        "world": rt.world,
        "pretrained": str(Path(pretrained).resolve()) if pretrained else None,
    }
    if stage == "ae":
        from ccnet_zoo.train.ae import AutoencoderStage

        st = AutoencoderStage(cfg, rt)
        train_ds, val_ds = ImageDataset(rows["train"], size), ImageDataset(rows["validation"], size)
    else:
        from ccnet_zoo.data.dataset import PairedDCEDataset

        autoencoder = load_autoencoder(cfg, ae, pretrained)
        meta["ae"] = str(Path(ae).resolve()) if ae else None
        train_ds = PairedDCEDataset(rows["train"], size, augment=True, seed=cfg["seed"])
        val_ds = PairedDCEDataset(rows["validation"], size, augment=False)
        if stage == "ldm":
            from ccnet_zoo.train.ldm import LDMStage

            text = build_text_encoder(cfg, prompts_of(rows["train"] + rows["validation"]), pretrained=pretrained)
            st = LDMStage(cfg, rt, autoencoder, build_denoiser(cfg, pretrained), text)
        else:
            from ccnet_zoo.train.controlnet import ControlNetStage

            if ldm is None:
                raise ModelError("the controlnet stage starts from the trained UNet: pass --ldm RUN (from 'train ldm')")
            unet, text, _ = load_ldm(ldm, pretrained)
            meta["ldm"] = str(Path(ldm).resolve())
            controlnet = build_controller(cfg, unet)
            controlnet.init_from(unet)
            st = ControlNetStage(cfg, rt, autoencoder, unet, text, controlnet)
    trainer = Trainer(
        st,
        train_ds,
        val_ds,
        rt,
        out,
        epochs=tc["epochs"],
        batch_size=tc["batch_size"],
        seed=cfg["seed"],
        meta=meta,
        num_workers=tc.get("num_workers", 0),
        progress=progress,
    )
    if resume:
        trainer.resume()
    trainer.fit()
    rt.close()
    return out / "checkpoints" / "best.json"
