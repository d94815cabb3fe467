"""Start-up of ``ccnet-zoo``: what a command costs before its first training step, measured in fresh processes.

Ratios against a baseline in the same run (``python -c "import torch"``), so that the targets hold on any
machine: the training import path (config, MONAI networks, trainer, first network built) stays within
``TRAIN_PATH_MAX`` times torch's own import, and importing MONAI the plain way (all its optional packages:
transformers, matplotlib, pandas, scipy...) is what ``ccnet_zoo.models.monai_light`` saves.
Results: build/benchmarks/ccnet_startup.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parents[1] / "build" / "benchmarks" / "ccnet_startup.json"
TRAIN_PATH_MAX = 2.5  # x `import torch`
ROOT = str(Path(__file__).parents[1])
SNIPPETS = {
    "torch": "import torch",
    "cli_help": (
        "import sys; sys.argv = ['ccnet-zoo', '--help']\nfrom ccnet_zoo.cli import main\n"
        "try: main()\nexcept SystemExit: pass"
    ),
    "train_path": (
        "from ccnet_zoo.models.config import load_config\nfrom ccnet_zoo.models.factory import build_denoiser\n"
        "from ccnet_zoo.train.api import train_stage\nfrom ccnet_zoo.train.loop import Trainer\n"
        "build_denoiser(load_config('tiny'))"
    ),
    "monai_plain": "import torch, monai, monai.networks.nets",
    "monai_light": "import torch\nfrom ccnet_zoo.models.monai_light import light_monai\nlight_monai()",
}


def _run(code: str) -> float:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
    }
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t0


def _all(rounds: int = 3) -> dict[str, float]:
    """Median seconds of each snippet, the snippets interleaved round by round (a shared machine's load drifts)."""
    times: dict[str, list[float]] = {k: [] for k in SNIPPETS}
    for _ in range(rounds):
        for name, code in SNIPPETS.items():
            times[name].append(_run(code))
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def test_startup(benchmark) -> None:
    medians = benchmark.pedantic(_all, rounds=1, iterations=1)
    res = {f"{k}_s": round(v, 3) for k, v in medians.items()}
    res["train_path_vs_torch"] = round(medians["train_path"] / medians["torch"], 2)
    res["monai_plain_vs_light"] = round(medians["monai_plain"] / medians["monai_light"], 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1) + "\n")
    print("\n" + json.dumps(res, indent=1))
    assert medians["train_path"] <= TRAIN_PATH_MAX * medians["torch"]
    assert medians["monai_light"] < medians["monai_plain"]
    assert medians["cli_help"] < medians["torch"]  # --help never imports torch
