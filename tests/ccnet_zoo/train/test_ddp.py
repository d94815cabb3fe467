"""DDP via torchrun: 2 CPU processes with the gloo backend train on the phantom, each on half of every epoch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from zoo_helpers import read_csv, tiny32

from ccnet_zoo.models.checkpoint import load_checkpoint


def _torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "ccnet_zoo.train",
        *args,
        "--quiet",
    ]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("stage", ["ae", "mean", "ldm"])
def test_two_gloo_processes(stage: str, zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path) -> None:
    cfg = tiny32(ae={"adv_start_epoch": 0})
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    extra = ["--ae", str(trained_runs["ae"]), "--mean", str(trained_runs["mean"])] if stage == "ldm" else []
    out = tmp_path / "run"
    proc = _torchrun(
        [stage, "--config", str(tmp_path / "cfg.yaml"), "--data", str(zoo_phantom), "--out", str(out), *extra], tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, meta = load_checkpoint(out)
    assert meta["world"] == 2
    ddp_steps = int(read_csv(out / "losses.csv")[0]["step"])
    single = read_csv(trained_runs[stage] / "losses.csv")
    assert ddp_steps == int(single[0]["step"]) // 2  # every rank trains on its half of the epoch
