"""benchmarks/gpu/check.py in its tiny mode on the CPU, with the packages a GPU machine lacks made unimportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
#: absent on the GPU machine (or never needed there); SimpleITK too once ``import frd`` stops importing it
ABSENT = ["radiomics", "pooch", "platformdirs", "transformers", "diffusers", "matplotlib", "pydicom"]
RUN = """
import importlib.abc, runpy, sys
ABSENT = set(sys.argv[1].split(","))
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r} (absent on the GPU machine)")
sys.meta_path.insert(0, Absent())
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.slow
def test_gpu_check_runs_end_to_end_in_tiny_mode(tmp_path: Path) -> None:
    probe = "import sys, frd; print('SimpleITK' in sys.modules)"
    frd_needs_sitk = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    absent = ABSENT + ([] if frd_needs_sitk.stdout.strip() == "True" else ["SimpleITK"])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-c",
        RUN,
        ",".join(absent),
        str(ROOT / "benchmarks" / "gpu" / "check.py"),
        "--device",
        "cpu",
        "--scale",
        "tiny",
        "--threads",
        "1",
        "--out",
        str(tmp_path / "run"),
        "--json",
        str(tmp_path / "r.json"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "| what | steps/s | TFLOP/s |" in out and "tiny Table 1: train_controlnet" in out
    res = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert res["env"]["device"] == "cpu" and res["table1"]["generated_images"] > 0
    ae_key = next(k for k in res["paper"] if k.startswith("ae_train_b2_"))  # the size follows the config's latents
    for key in ("ldm_train_b2", "controlnet_train_b2", "ddim_step_b2", ae_key):
        assert res["paper"][key]["steps_per_s"] > 0 and res["paper"][key]["tflop_per_step"] > 0
    assert res["paper"]["ddim_step_b2"]["images_per_s_at_200_steps"] > 0
    assert (tmp_path / "run" / "generated" / "generated.tsv").is_file()
