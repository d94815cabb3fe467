"""The stages train on the phantom and leave checkpoints, loss logs and curves in their run folders."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from zoo_helpers import read_csv, tiny32

from ccnet_zoo.models.checkpoint import load_checkpoint
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.models.loading import load_ldm
from ccnet_zoo.pipeline.loading import load_run
from ccnet_zoo.train.api import train_stage


@pytest.mark.parametrize("stage", ["ae", "mean", "ldm", "controlnet"])
def test_run_folder(trained_runs: dict[str, Path], stage: str) -> None:
    run = trained_runs[stage]
    rows = read_csv(run / "losses.csv")
    assert len(rows) == 1 and math.isfinite(float(rows[0]["val_loss"])) and float(rows[0]["train_loss"]) > 0
    assert (run / "losses.png").stat().st_size > 1000
    tensors, meta = load_checkpoint(run)
    assert meta["stage"] == stage and meta["kind"] == "best" and meta["config"]["image_size"] == 32
    last = json.loads((run / "checkpoints" / "last.json").read_text())
    assert last["epoch"] == 0 and "optim" in last and len(last["history"]) == 1
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def test_ae_losses_include_adversarial_terms(zoo_phantom: Path, tmp_path: Path) -> None:
    cfg = tiny32(ae={"epochs": 2, "adv_start_epoch": 1})
    train_stage("ae", cfg, zoo_phantom, tmp_path / "ae", progress=False)
    rows = read_csv(tmp_path / "ae" / "losses.csv")
    assert rows[0]["train_disc"] == "" and float(rows[1]["train_disc"]) > 0 and float(rows[1]["train_adv_g"]) > 0
    assert float(rows[1]["train_l1"]) < float(rows[0]["train_l1"])


def test_controlnet_keeps_the_unet_frozen(trained_runs: dict[str, Path]) -> None:
    unet, _, _ = load_ldm(trained_runs["ldm"])
    parts = load_run(trained_runs["controlnet"])
    for (name, a), b in zip(unet.state_dict().items(), parts["unet"].state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    meta = parts["meta"]
    assert Path(meta["ldm"]) == trained_runs["ldm"].resolve() and Path(meta["ae"]) == trained_runs["ae"].resolve()
    assert Path(meta["mean"]) == trained_runs["mean"].resolve()


def test_ldm_text_encoder_vocabulary_comes_from_the_prompts(trained_runs: dict[str, Path]) -> None:
    _, _text, meta = load_ldm(trained_runs["ldm"])
    assert meta["text"]["kind"] == "builtin"
    assert "contrast" in meta["text"]["vocab"]  # the default report: "dynamic contrast-enhanced magnetic ..."


def test_trainable_text_encoder_is_trained(zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path) -> None:
    cfg = tiny32()
    cfg["text"]["trainable"] = True
    cfg["text"]["source"] = 1
    train_stage(
        "ldm", cfg, zoo_phantom, tmp_path / "ldm", ae=trained_runs["ae"], mean=trained_runs["mean"], progress=False
    )
    _, _text, meta = load_ldm(tmp_path / "ldm")
    assert meta["text"]["trainable"] and "scanner" in meta["text"]["vocab"]  # text1 names the scanner
    last, _ = load_checkpoint(tmp_path / "ldm" / "checkpoints" / "last.json", verify=True)
    assert any(k.startswith("model.text.") for k in last)


def test_guards(zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"--resume.*--overwrite"):
        train_stage("ae", tiny32(), zoo_phantom, trained_runs["ae"], progress=False)
    mean = trained_runs["mean"]
    with pytest.raises(ModelError, match="--ae"):
        train_stage("ldm", tiny32(), zoo_phantom, tmp_path / "x", mean=mean, progress=False)
    with pytest.raises(ModelError, match="--mean"):
        train_stage("ldm", tiny32(), zoo_phantom, tmp_path / "x", ae=trained_runs["ae"], progress=False)
    with pytest.raises(ModelError, match="'ae' checkpoint; expected the 'mean'"):
        train_stage("ldm", tiny32(), zoo_phantom, tmp_path / "x", ae=trained_runs["ae"], mean=trained_runs["ae"])
    with pytest.raises(ModelError, match="--ldm"):
        train_stage("controlnet", tiny32(), zoo_phantom, tmp_path / "y", ae=trained_runs["ae"], mean=mean)
    with pytest.raises(ModelError, match="'controlnet' checkpoint; expected the 'ldm'"):
        train_stage(
            "controlnet",
            tiny32(),
            zoo_phantom,
            tmp_path / "z",
            ae=trained_runs["ae"],
            ldm=trained_runs["controlnet"],
            mean=mean,
            progress=False,
        )
    with pytest.raises(ModelError, match="cannot fill one batch"):
        train_stage(
            "ldm",
            tiny32(ldm={"batch_size": 500}),
            zoo_phantom,
            tmp_path / "w",
            ae=trained_runs["ae"],
            mean=mean,
            progress=False,
        )
    with pytest.raises(ModelError, match="neither a dataset"):
        train_stage("ae", tiny32(), tmp_path, tmp_path / "v", progress=False)
