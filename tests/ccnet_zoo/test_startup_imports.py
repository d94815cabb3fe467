"""``ccnet-zoo phantom``, ``train`` and ``generate`` import neither SimpleITK, pyradiomics, transformers nor
matplotlib unless the config needs them (checked on ``sys.modules`` of a real command in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("SimpleITK", "radiomics", "transformers", "diffusers", "matplotlib")
PROBE = """
import atexit, json, sys
def report():
    sys.stderr.write("MODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
atexit.register(report)
sys.argv = ["ccnet-zoo", *sys.argv[1:]]
from ccnet_zoo.cli import main
main()
"""


def _modules(*args: str, cwd: Path) -> set[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CCNET_ZOO_OFFLINE": "1", "CCNET_ZOO_CACHE": str(cwd / "cache")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line[len("MODULES ") :]))


def _frd_itself() -> set[str]:
    """What ``import frd`` alone imports of HEAVY (frd's own imports are made lazy on the frd side)."""
    code = "import sys, frd; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return set(out.stdout.split()) & set(HEAVY)


@pytest.mark.slow
def test_phantom_train_generate_stay_light(tmp_path: Path) -> None:
    allowed = _frd_itself()
    data = tmp_path / "ph"
    seen = {
        "phantom": _modules(
            "phantom", "--out", str(data), "--patients", "4", "--slices", "1", "--size", "32", "--quiet", cwd=tmp_path
        )
    }
    seen["train"] = _modules(
        "train",
        "ae",
        "--config",
        "tiny",
        "--set",
        "image_size=32",
        "--set",
        "train.ae.epochs=1",
        "--set",
        "train.ae.batch_size=2",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "ae"),
        "--device",
        "cpu",
        "--quiet",
        cwd=tmp_path,
    )
    seen["generate"] = _modules(
        "generate",
        "--weights",
        "ccnet-tiny-phantom",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "g"),
        "--limit",
        "1",
        "--steps",
        "1",
        "--device",
        "cpu",
        "--quiet",
        cwd=tmp_path,
    )
    assert (tmp_path / "ae" / "losses.png").stat().st_size > 1000 and (tmp_path / "g" / "generated.tsv").is_file()
    for command, modules in seen.items():
        assert not (modules & set(HEAVY)) - allowed, (command, sorted(modules & set(HEAVY)))
    assert "torch" not in seen["phantom"] and "monai" in seen["train"]


@pytest.mark.slow
def test_monai_is_imported_without_its_optional_packages() -> None:
    listed = "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & HIDDEN)))"
    head = "import sys; from ccnet_zoo.models.monai_light import HIDDEN, light_monai; "
    base = subprocess.run(
        [sys.executable, "-c", head + "import torch, frd; " + listed],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.split()
    code = head + "import torch, frd; light_monai(); import monai.networks.nets as n; assert n.ControlNet; " + listed
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert set(out.stdout.split()) == set(base)  # MONAI added none of them
    # hidden only while MONAI is imported: the SD-2.1 path can still import transformers afterwards
    code = (
        head + "light_monai(); import importlib.util as u, matplotlib; print(u.find_spec('transformers') is not None)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout == "True\n"
