"""A run interrupted mid-epoch and resumed from its last checkpoint ends with exactly the uninterrupted result."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from zoo_helpers import read_csv, tiny32

from ccnet_zoo.models.checkpoint import load_checkpoint
from ccnet_zoo.train.api import train_stage
from ccnet_zoo.train.loop import Stage


def _history(run: Path) -> list[dict[str, str]]:
    rows = read_csv(run / "losses.csv")
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, epoch: int, step: int) -> None:
    """Make the ``step``-th training step of ``epoch`` raise KeyboardInterrupt (as a killed job would stop)."""
    calls = {"n": 0}
    for cls in Stage.__subclasses__():
        original = cls.train_step

        def boom(self, batch, e, _orig=original):
            if e == epoch:
                calls["n"] += 1
                if calls["n"] == step:
                    raise KeyboardInterrupt
            return _orig(self, batch, e)

        monkeypatch.setattr(cls, "train_step", boom)


@pytest.mark.parametrize("stage", ["ae", "mean", "ldm"])
def test_resume_equals_uninterrupted(
    stage: str, zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = {"epochs": 2, "checkpoint_every": 1}  # a checkpoint per epoch, so the cut run has one to resume
    cfg = tiny32(ae={**every, "adv_start_epoch": 1}, ldm=every, mean=every)
    extra = {"ae": trained_runs["ae"], "mean": trained_runs["mean"]} if stage == "ldm" else {}
    train_stage(stage, cfg, zoo_phantom, tmp_path / "full", progress=False, **extra)
    with monkeypatch.context() as m:
        _interrupt_at(m, epoch=1, step=3)
        with pytest.raises(KeyboardInterrupt):
            train_stage(stage, cfg, zoo_phantom, tmp_path / "cut", progress=False, **extra)
    assert len(_history(tmp_path / "cut")) == 1
    train_stage(stage, cfg, zoo_phantom, tmp_path / "cut", resume=True, progress=False, **extra)
    assert _history(tmp_path / "cut") == _history(tmp_path / "full")
    for name in ("last", "best"):
        a, meta_a = load_checkpoint(tmp_path / "full" / "checkpoints" / f"{name}.json")
        b, meta_b = load_checkpoint(tmp_path / "cut" / "checkpoints" / f"{name}.json")
        assert a.keys() == b.keys() and meta_a["epoch"] == meta_b["epoch"]
        for key in a:
            assert torch.equal(a[key], b[key]), key


def test_resume_without_checkpoint_starts_fresh(zoo_phantom: Path, tmp_path: Path) -> None:
    train_stage("ae", tiny32(), zoo_phantom, tmp_path / "run", resume=True, progress=False)
    assert len(_history(tmp_path / "run")) == 1
