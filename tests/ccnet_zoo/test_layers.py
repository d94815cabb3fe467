"""No import runs up the layers of ccnet_zoo (docs/architecture.md), checked on the source with ast.

Leaves: models, data, weights; then train, sample (the DDIM loop), metrics; then the pipeline; then reproduce;
then the command line. Lazy imports inside functions count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import ccnet_zoo

ROOT = Path(ccnet_zoo.__file__).parent
LAYERS = {
    "errors": 0,
    "models": 1,
    "data": 1,
    "weights": 1,
    "device": 1,  # the one device rule (ccnet_zoo/device.py), used by train, metrics, reproduce and the CLI
    "train": 2,
    "sample": 2,
    "metrics": 2,
    "pipeline": 3,
    "reproduce": 4,
    "cli": 5,
    "_console": 5,  # the console script: checks the zoo extra, then runs cli
    "__main__": 5,
    "__init__": 5,  # the package's façade re-exports the pipeline lazily
}


def _unit(module: str) -> str:
    """``ccnet_zoo.data.phantom.kinetics`` -> ``data``; ``ccnet_zoo`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        out[name] = path
    return out


def _imports(path: Path, module: str) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
    return {m for m in found if m == "ccnet_zoo" or m.startswith("ccnet_zoo.")}


def _violations() -> list[str]:
    bad = []
    for module, path in _modules().items():
        unit = _unit(module)
        if path.name == "__main__.py":  # an entry point runs, nothing imports it
            continue
        assert unit in LAYERS, f"{module}: put {unit!r} in a layer (here and in docs/architecture.md)"
        for target in _imports(path, module):
            dep = _unit(target)
            if dep == unit or dep == "errors":
                continue
            if LAYERS[dep] >= LAYERS[unit]:
                bad.append(f"{module} imports {target} ({unit}: layer {LAYERS[unit]}, {dep}: layer {LAYERS[dep]})")
    return bad


def test_no_import_runs_up_the_layers() -> None:
    assert _violations() == []


def test_the_check_sees_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: a weights module importing the pipeline is reported."""
    fake = tmp_path / "ccnet_zoo"
    for unit in ("weights", "pipeline"):
        (fake / unit).mkdir(parents=True)
        (fake / unit / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "weights" / "bad.py").write_text("def f():\n    from ccnet_zoo.pipeline import CCNetPipeline\n")
    (fake / "weights" / "rel.py").write_text("from ..pipeline import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    assert sorted(v.split(" ")[0] for v in _violations()) == ["ccnet_zoo.weights.bad", "ccnet_zoo.weights.rel"]


def test_weights_only_handle_files() -> None:
    """The registry package never imports torch or the networks (it only finds, fetches and verifies files)."""
    for path in (ROOT / "weights").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in ("torch", "safetensors") for n in names), f"{path}: {names}"
