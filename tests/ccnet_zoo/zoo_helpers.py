"""Helpers of the ccnet_zoo tests (importable as ``zoo_helpers``)."""

from __future__ import annotations

from typing import Any


def tiny32(**train: Any) -> dict[str, Any]:
    """The ``tiny`` config at 32 px, 1 epoch per stage, batch 4 (``train`` overrides merge per stage)."""
    from ccnet_zoo.models.config import deep_merge, load_config

    base = {
        "image_size": 32,
        "train": {s: {"epochs": 1, "batch_size": 4} for s in ("ae", "mean", "ldm", "controlnet")},
        "sample": {"steps": 4, "batch_size": 8},
    }
    return deep_merge(load_config("tiny", base), {"train": train})


def train_stages(cfg: Any, data: Any, root: Any, ae: Any = None) -> dict[str, Any]:
    """Train the stages of ``cfg`` one after the other into ``root/<stage>`` (the AE too unless ``ae`` is a run),
    each linked to the runs before it; returns stage -> run folder."""
    from pathlib import Path

    from ccnet_zoo.models.config import as_config
    from ccnet_zoo.train.api import train_stage

    root = Path(root)
    residual = as_config(cfg).ldm.target == "residual"
    stages = [s for s in ("ae", "mean", "ldm", "controlnet") if (s != "ae" or ae is None) and (s != "mean" or residual)]
    runs = {s: root / s for s in stages} | ({"ae": Path(ae)} if ae is not None else {})
    mean = runs.get("mean")
    links = {"ae": {}, "mean": {}, "ldm": {"ae": runs["ae"], "mean": mean}}
    links["controlnet"] = {**links["ldm"], "ldm": runs["ldm"]}
    for stage in stages:
        train_stage(stage, cfg, data, runs[stage], progress=False, **links[stage])
    return runs


def read_csv(path: Any) -> list[dict[str, str]]:
    """Rows of a comma-separated file (``losses.csv``)."""
    import csv

    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def assert_one_line_error(result: Any, command: str, text: str) -> None:
    """A CLI result is a user error: exit 2, empty stdout, one ``ccnet-zoo COMMAND: error: ...`` line on stderr."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ccnet-zoo {command}: error: ") and text in lines[0], lines[0]


def benchmark_module(name: str) -> Any:
    """The script ``benchmarks/NAME.py`` as a module (the benchmarks folder is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
