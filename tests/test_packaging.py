"""The distribution: declared dependencies cover what the code imports; import frd stays light."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _guarded(tree: ast.AST) -> set[int]:
    """ids of import nodes inside ``try: ... except ImportError``: optional dependencies."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if caught & {"ImportError", "ModuleNotFoundError", "(ImportError, ModuleNotFoundError)"}:
                out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


#: Modules that only work with an extra installed, and that ``import frd`` never imports.
EXTRA_MODULES = {"frd/metric_torch.py": "torch"}


def _third_party_imports(package: str, only: str | None = None) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if (only is None and rel in EXTRA_MODULES) or (only is not None and rel != only):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = _guarded(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("frd", "ccnet_zoo")}


def _declared(reqs: list[str]) -> set[str]:
    import re

    return {re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


def _distributions(module: str) -> set[str]:
    return {d.lower().replace("_", "-") for d in metadata.packages_distributions().get(module, [])}


@pytest.mark.slow
def test_frd_imports_only_core_dependencies():
    declared = _declared(PYPROJECT["project"]["dependencies"])
    for module in _third_party_imports("frd"):
        dists = _distributions(module)
        assert dists & declared, f"frd imports {module} ({dists}) but the core dependencies do not declare it"


@pytest.mark.slow
def test_extra_modules_are_declared_in_their_extra():
    for rel, extra in EXTRA_MODULES.items():
        declared = _declared(
            PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"][extra]
        )
        for module in _third_party_imports(rel.split("/")[0], only=rel):
            assert _distributions(module) & declared, f"{rel} imports {module}, not declared in extra {extra!r}"


@pytest.mark.slow
def test_zoo_imports_are_declared_in_core_or_zoo():
    declared = _declared(PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["zoo"])
    for module in _third_party_imports("ccnet_zoo"):
        dists = _distributions(module)
        assert dists & declared, f"ccnet_zoo imports {module} ({dists}) but neither core nor zoo declares it"


def test_torch_only_in_the_zoo_extra():
    assert "torch" not in _declared(PYPROJECT["project"]["dependencies"])
    assert "torch" in _declared(PYPROJECT["project"]["optional-dependencies"]["zoo"])


def test_constraints_pin_torch_for_every_install():
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert "torch==2.13.0" in pins
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [ln for ln in makefile.splitlines() if "pip install" in ln or "$(PIP) install" in ln]
    assert installs and all("PIP_FLAGS" in ln or "-c constraints.txt" in ln for ln in installs)
    assert "-c constraints.txt" in makefile


def test_ccnet_zoo_cli_runs():
    from click.testing import CliRunner

    from ccnet_zoo.cli import main

    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0 and "CC-Net" in r.output
