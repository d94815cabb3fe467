"""safetensors + JSON checkpoints: round trip, atomic replacement, integrity, optimizer state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ccnet_zoo.models.checkpoint import (
    load_checkpoint,
    load_module,
    load_optimizer,
    module_tensors,
    optimizer_tensors,
    resolve,
    save_checkpoint,
)
from ccnet_zoo.models.errors import CheckpointError


def test_round_trip_and_replacement(tmp_path: Path) -> None:
    first = save_checkpoint(tmp_path, "best", {"w": torch.arange(3.0)}, {"epoch": 1, "config": {"a": [1, 2]}})
    old_file = tmp_path / json.loads(first.read_text())["tensors"]
    save_checkpoint(tmp_path, "best", {"w": torch.ones(3)}, {"epoch": 2})
    tensors, meta = load_checkpoint(tmp_path / "best.json")
    assert torch.equal(tensors["w"], torch.ones(3)) and meta["epoch"] == 2
    assert not old_file.exists()  # the replaced tensor file is removed after the JSON switched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_resolve_run_folder(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "run" / "checkpoints", "best", {"w": torch.zeros(1)}, {})
    assert resolve(tmp_path / "run") == tmp_path / "run" / "checkpoints" / "best.json"
    with pytest.raises(CheckpointError, match="train that stage first"):
        resolve(tmp_path / "elsewhere")


def test_corruption_is_detected(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path, "best", {"w": torch.zeros(4)}, {})
    tensor_file = tmp_path / json.loads(path.read_text())["tensors"]
    tensor_file.write_bytes(tensor_file.read_bytes()[:-4] + b"abcd")
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path)
    tensor_file.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(path)
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(CheckpointError, match="not a ccnet_zoo checkpoint"):
        load_checkpoint(tmp_path / "x.json")


def test_module_and_optimizer_state(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters(), lr=0.1)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    t_opt, rest = optimizer_tensors("optim", opt)
    save_checkpoint(tmp_path, "last", {**module_tensors("model", net), **t_opt}, {"optim": rest})
    tensors, meta = load_checkpoint(tmp_path / "last.json")
    net2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(net2.parameters(), lr=0.5)
    load_module(net2, tensors, "model")
    load_optimizer(opt2, tensors, "optim", meta["optim"])
    assert torch.equal(net2.weight, net.weight)
    assert opt2.param_groups[0]["lr"] == 0.1
    assert torch.equal(opt2.state[net2.weight]["exp_avg"], opt.state[net.weight]["exp_avg"])
    with pytest.raises(CheckpointError, match="do not fit"):
        load_module(torch.nn.Linear(3, 5), tensors, "model")
    with pytest.raises(CheckpointError, match="no 'other' weights"):
        load_module(net2, tensors, "other")
