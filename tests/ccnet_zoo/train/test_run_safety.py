"""Training never touches what it did not write: ``--overwrite`` needs the run manifest, checkpoint metadata
cannot name files outside its folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from zoo_helpers import tiny32

from ccnet_zoo.models.checkpoint import load_checkpoint, save_checkpoint
from ccnet_zoo.models.errors import CheckpointError, ModelError
from ccnet_zoo.train.api import RUN_MANIFEST, is_run, train_stage


def test_overwrite_refuses_a_folder_that_is_not_a_run(zoo_phantom: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    (mine / "checkpoints").mkdir(parents=True)
    (mine / "checkpoints" / "thesis.tex").write_text("mine\n", encoding="utf-8")
    (mine / "config.yaml").write_text("mine: 1\n", encoding="utf-8")
    for flags in ({"overwrite": True}, {"resume": True}, {}):
        with pytest.raises(ModelError, match=f"not a ccnet-zoo run \\(no {RUN_MANIFEST}\\)"):
            train_stage("ae", tiny32(), zoo_phantom, mine, progress=False, **flags)
    assert (mine / "checkpoints" / "thesis.tex").read_text(encoding="utf-8") == "mine\n"
    assert (mine / "config.yaml").read_text(encoding="utf-8") == "mine: 1\n"


def test_overwrite_replaces_a_run_and_nothing_else(
    zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "ae"
    shutil.copytree(trained_runs["ae"], run)
    assert is_run(run)
    (run / "notes.txt").write_text("mine\n", encoding="utf-8")
    old = json.loads((run / "checkpoints" / "best.json").read_text(encoding="utf-8"))["tensors"]
    train_stage("ae", tiny32(), zoo_phantom, run, overwrite=True, progress=False)
    assert (run / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert not (run / "checkpoints" / old).exists() and (run / "checkpoints" / "best.json").is_file()


@pytest.mark.parametrize("name", ["../victim.safetensors", "/tmp/victim.safetensors", "sub/x.safetensors", 7])
def test_checkpoint_metadata_cannot_name_outside_files(tmp_path: Path, name: object) -> None:
    folder = tmp_path / "run" / "checkpoints"
    save_checkpoint(folder, "last", {"w": torch.ones(2)}, {"epoch": 0})
    victim = tmp_path / "run" / "victim.safetensors"
    victim.write_bytes(b"precious")
    doc = json.loads((folder / "last.json").read_text(encoding="utf-8"))
    doc["tensors"] = name
    (folder / "last.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CheckpointError, match="not a file of its folder"):
        load_checkpoint(folder / "last.json")
    save_checkpoint(folder, "last", {"w": torch.zeros(2)}, {"epoch": 1})  # replaces last; must not delete victim
    assert victim.read_bytes() == b"precious"
    tensors, meta = load_checkpoint(folder / "last.json")
    assert meta["epoch"] == 1 and tensors["w"].sum() == 0


def test_resume_with_a_crafted_checkpoint_deletes_nothing(
    zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "ae"
    shutil.copytree(trained_runs["ae"], run)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    last = run / "checkpoints" / "last.json"
    doc = json.loads(last.read_text(encoding="utf-8"))
    doc["tensors"] = str(victim)
    last.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CheckpointError):
        train_stage("ae", tiny32(ae={"epochs": 2}), zoo_phantom, run, resume=True, progress=False)
    assert victim.read_text(encoding="utf-8") == "precious\n"
