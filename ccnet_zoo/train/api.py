"""``train_stage``: train one CC-Net stage from a config and a dataset into a run folder.

Run folder: ``ccnet-run.json`` (the run manifest), ``config.yaml`` (resolved config),
``checkpoints/{best,last}.json`` + safetensors, ``losses.csv``, ``losses.png``. ``resume=True`` continues from
``checkpoints/last``; ``overwrite=True`` removes only those files, and only where the manifest is.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ccnet_zoo.models.config import STAGES, CCNetConfig, as_config, load_config, or_default
from ccnet_zoo.models.errors import ModelError
from frd._files import replace_owned_text

log = logging.getLogger(__name__)
_OWNED = ("checkpoints", "losses.csv", "losses.png", "config.yaml")
RUN_MANIFEST = "ccnet-run.json"  # says "this folder is a training run, these names are its files"
RUN_FORMAT = "ccnet-zoo-run/1"


def is_run(out: Path) -> bool:
    """Whether ``out`` holds a run manifest written by :func:`train_stage`."""
    try:
        doc = json.loads((Path(out) / RUN_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == RUN_FORMAT


def _prepare_out(out: Path, stage: str, resume: bool, overwrite: bool) -> None:
    """Check ``out`` may hold this run. ``overwrite`` removes only the files of a folder whose run manifest says
    it is a run (the names in ``_OWNED``, never anything else); a folder holding files of those names without
    a manifest belongs to someone else and is refused."""
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out} exists and is not a folder")
    ours = is_run(out)
    clash = [name for name in _OWNED if (out / name).exists()]
    if clash and not ours:
        raise ModelError(f"{out} holds {clash[0]} but is not a ccnet-zoo run (no {RUN_MANIFEST}); choose another --out")
    has_run = ours and (out / "checkpoints").exists()
    if has_run and overwrite:
        for name in _OWNED:
            p = out / name
            if p.is_symlink() or p.is_file():
                p.unlink()
            elif p.is_dir():
                shutil.rmtree(p)
    elif has_run and not resume:
        raise ModelError(f"{out} already holds a run; pass --resume to continue it or --overwrite to start again")
    out.mkdir(parents=True, exist_ok=True)
    doc = {"format": RUN_FORMAT, "stage": stage, "files": list(_OWNED)}
    replace_owned_text(out / RUN_MANIFEST, json.dumps(doc, indent=1) + "\n")


def _workers(rt: Any, preload: bool) -> int:
    """Default DataLoader workers: on a GPU, two processes decode and augment while it computes, unless the
    images are preloaded (then starting workers every epoch costs more than the augmentation they take over);
    on the CPU they would compete with the model for the same cores."""
    if rt.device.type != "cuda" or preload:
        return 0
    return min(2, max(0, (os.cpu_count() or 1) - 1))


def _cache_latents(objective: Any, rows: Mapping[str, Any], train_ds: Any, val_ds: Any) -> None:
    """Encode the targets once (and the sources where the change is diffused, the bases where the residual is)."""
    both = rows["train"] + rows["validation"]
    val_paths = {str(r[c]) for r in rows["validation"] for c in ("source", "target")}

    def image(path: str) -> Any:
        return (val_ds if path in val_paths else train_ds).image(path)

    paths = [str(r["target"]) for r in both]
    if objective.target == "change":
        paths += [str(r["source"]) for r in both]
    objective.cache_posteriors(paths, image)
    if objective.target == "residual":  # keyed like DiffusionObjective.prepare: one base per pair
        import torch

        rows_of = {f"base:{r['target']}": r for r in both}

        def base(key: str) -> Any:
            r = rows_of[key]
            t = torch.tensor([[float(r["acquisition_time"])]])
            return objective.bases(image(str(r["source"]))[None], t)[0]

        objective.cache_posteriors(list(rows_of), base)


def train_stage(
    stage: str,
    config: str | Path | CCNetConfig | Mapping[str, Any],
    data: str | Path,
    out: str | Path,
    *,
    ae: str | Path | None = None,
    ldm: str | Path | None = None,
    mean: str | Path | None = None,
    pretrained: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str | None = None,
    threads: int = 1,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> Path:
    """Train ``stage`` (``ae``, ``mean``, ``ldm`` or ``controlnet``); returns the path of the best checkpoint JSON.

    ``config``: a shipped config's name, a YAML file, or a loaded config (typed, or its plain mapping).
    ``mean``: the ``mean`` run that ``ldm`` and ``controlnet`` start from where ``ldm.target`` is ``residual``.
    """
    from ccnet_zoo.models.factory import build_controller, build_denoiser, build_mean, build_text_encoder
    from ccnet_zoo.models.loading import load_autoencoder, load_ldm, load_mean
    from ccnet_zoo.train.data import ImageDataset, load_rows, preload_wanted, prompts_of
    from ccnet_zoo.train.loop import LOG_EVERY, Trainer
    from ccnet_zoo.train.runtime import Runtime, channels_last_wanted, seed_all

    if stage not in STAGES:
        raise ModelError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    if isinstance(config, (CCNetConfig, Mapping)):
        cfg = as_config(config).with_overrides(overrides or {}, "overrides")
    else:
        cfg = load_config(config, overrides, typed=True)
    if stage not in cfg.train:
        raise ModelError(f"the config has no 'train.{stage}' section")
    tc = cfg.train[stage]
    out = Path(out)
    rt = Runtime.create(
        device, amp=or_default(tc.amp, True), threads=threads, amp_dtype=or_default(tc.amp_dtype, "bf16")
    )
    rt.channels_last = channels_last_wanted(or_default(tc.channels_last, "auto"), rt.device)
    if rt.is_main:
        _prepare_out(out, stage, resume, overwrite)
        (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
    rt.barrier()
    rows = load_rows(data, cfg.text.source)
    if not rows["train"]:
        raise ModelError(f"{data} has no training pairs")
    size = cfg.image_size
    n_files = 2 * sum(len(rows[k]) for k in ("train", "validation"))
    preload = preload_wanted(tc.preload, n_files, size)
    seed_all(cfg.seed, 999_983)  # identical initial weights on every rank and in every run
    meta: dict[str, Any] = {
        "stage": stage,
        "config": cfg.to_dict(),
        "data": str(Path(data).resolve()),
        "world": rt.world,
        "pretrained": str(Path(pretrained).resolve()) if pretrained else None,
    }
    residual = cfg.ldm.target == "residual"
    if stage == "mean" and not residual:
        target = or_default(cfg.ldm.target, "post")
        raise ModelError(f"the mean stage belongs to ldm.target 'residual'; this config's target is {target!r}")
    if stage == "ae":
        from ccnet_zoo.train.ae import AutoencoderStage

        st = AutoencoderStage(cfg, rt)
        train_ds = ImageDataset(rows["train"], size, preload=preload)
        val_ds = ImageDataset(rows["validation"], size, preload=preload)
    elif stage == "mean":
        from ccnet_zoo.data.dataset import PairedDCEDataset
        from ccnet_zoo.train.mean import MeanStage

        st = MeanStage(cfg, rt, build_mean(cfg))
        train_ds = PairedDCEDataset(rows["train"], size, augment=True, seed=cfg.seed, preload=preload)
        val_ds = PairedDCEDataset(rows["validation"], size, augment=False, preload=preload)
    else:
        from ccnet_zoo.data.dataset import PairedDCEDataset

        autoencoder = load_autoencoder(cfg, ae, pretrained)
        meta["ae"] = str(Path(ae).resolve()) if ae else None
        mean_net = load_mean(mean) if residual else None
        meta["mean"] = str(Path(mean).resolve()) if residual and mean else None
        train_ds = PairedDCEDataset(rows["train"], size, augment=True, seed=cfg.seed, preload=preload)
        val_ds = PairedDCEDataset(rows["validation"], size, augment=False, preload=preload)
        if stage == "ldm":
            from ccnet_zoo.train.ldm import LDMStage

            text = build_text_encoder(cfg, prompts_of(rows["train"] + rows["validation"]), pretrained=pretrained)
            st = LDMStage(cfg, rt, autoencoder, build_denoiser(cfg, pretrained), text, mean_net)
        else:
            from ccnet_zoo.train.controlnet import ControlNetStage

            if ldm is None:
                raise ModelError("the controlnet stage starts from the trained UNet: pass --ldm RUN (from 'train ldm')")
            unet, text, _ = load_ldm(ldm, pretrained)
            meta["ldm"] = str(Path(ldm).resolve())
            controlnet = build_controller(cfg, unet)
            controlnet.init_from(unet)
            st = ControlNetStage(cfg, rt, autoencoder, unet, text, controlnet, mean_net)
        if preload:  # targets' posteriors once, instead of an encoder pass per step for most of them
            _cache_latents(st.objective, rows, train_ds, val_ds)
    trainer = Trainer(
        st,
        train_ds,
        val_ds,
        rt,
        out,
        epochs=tc.epochs,
        batch_size=tc.batch_size,
        seed=cfg.seed,
        meta=meta,
        num_workers=or_default(tc.num_workers, _workers(rt, preload)),
        progress=progress,
        log_every=or_default(tc.log_every, LOG_EVERY),
        checkpoint_every=or_default(tc.checkpoint_every, 0),
    )
    if resume:
        trainer.resume()
    trainer.fit()
    rt.close()
    return out / "checkpoints" / "best.json"
