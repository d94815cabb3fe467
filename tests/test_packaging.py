"""The distribution: declared dependencies cover what the code imports; import frd stays light."""

from __future__ import annotations

import ast
import functools
import itertools
import os
import re
import subprocess
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
    return {re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _distributions(module: str) -> set[str]:
    return {d.lower().replace("_", "-") for d in _packages_distributions().get(module, [])}


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


def _requirement_closure(reqs: list[str]) -> set[str]:
    """Normalised names of ``reqs`` and of everything they pull in, read from the installed metadata.

    The project's own extras (``frd-radiomics[zoo]``) are expanded from pyproject; markers are evaluated for this
    interpreter with the extras that were asked for, as pip would.
    """
    from packaging.requirements import Requirement

    own = _declared([PYPROJECT["project"]["name"]]).pop()
    optional = PYPROJECT["project"]["optional-dependencies"]
    names: set[str] = set()
    walked: set[tuple[str, str]] = set()  # (distribution, extra) whose requirements are queued already
    todo = [(Requirement(r), "") for r in reqs]
    while todo:
        req, from_extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": from_extra}):
            continue
        name = _declared([req.name]).pop()
        if name == own:
            todo += [(Requirement(r), "") for extra in req.extras for r in optional[extra]]
            continue
        names.add(name)
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: its own requirements are unknown, the name itself still counts
        for extra in ("", *req.extras):
            if (name, extra) not in walked:
                walked.add((name, extra))
                todo += [(Requirement(r), extra) for r in requires]
    return names


def test_torch_only_in_the_zoo_extra():
    """torch comes only with the extras that need it ([torch], [zoo], and [sd] through [zoo]); no core requirement
    pulls it in, not even through its own requirements (torchmetrics, say, would)."""
    core = PYPROJECT["project"]["dependencies"]
    for req in core:  # the closure below is only as good as the metadata it walks
        metadata.version(_declared([req]).pop())
    assert "torch" not in _requirement_closure(core), "a core requirement pulls in torch"
    optional = PYPROJECT["project"]["optional-dependencies"]
    with_torch = {extra for extra, reqs in optional.items() if "torch" in _requirement_closure(reqs)}
    assert with_torch == {"torch", "zoo", "sd"}


def _constraints() -> dict[str, str]:
    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pins[_declared([req.name]).pop()] = str(req.specifier)
    return pins


def _make_variables(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z_]+)\s*[:?]?=\s*(.*?)\s*$", text, flags=re.M))


def _expand(line: str, variables: dict[str, str]) -> str:
    for _ in range(10):  # nested $(VAR) references
        line = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), line)
    return line


def test_constraints_pin_torch_for_every_install():
    """constraints.txt pins torch exactly (pip would otherwise pick a multi-GB CUDA build), the pin satisfies every
    torch range pyproject declares, and every pip install of the Makefile and of CI passes ``-c constraints.txt``."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    pins = _constraints()
    assert re.fullmatch(r"==\d+(\.\d+)*", pins.get("torch", "")), f"torch is not pinned exactly: {pins.get('torch')}"
    pinned = pins["torch"][2:]
    all_reqs = [PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"].values()]
    for req in map(Requirement, itertools.chain.from_iterable(all_reqs)):
        if req.name == "torch":
            assert SpecifierSet(str(req.specifier)).contains(pinned), f"{req} excludes the pinned torch {pinned}"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    variables = _make_variables(makefile)
    installs = [
        _expand(line, variables)
        for path in ("Makefile", ".ci/run")
        for line in (ROOT / path).read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    installs = [line for line in installs if re.search(r"\bpip3?\s+install\b", line)]
    assert installs, "no pip install found in the Makefile"
    for line in installs:
        words = line.split()
        assert any(a == "-c" and b == "constraints.txt" for a, b in itertools.pairwise(words)), line


#: Optional imports of ccnet_zoo that no extra declares, and why.
UNDECLARED_OPTIONAL = {"openpyxl": "Duke's .xlsx sheets; the CSV export works without it (one-line hint)"}


def _guarded_imports(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            if id(node) not in guarded:
                continue
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("frd", "ccnet_zoo")}


@pytest.mark.slow
def test_zoo_optional_imports_are_the_sd_extra():
    """What ccnet_zoo imports only behind ``except ImportError`` (the SD-2.1 path) is declared in [sd]."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    declared = _declared(optional["zoo"] + optional["sd"])
    guarded = _guarded_imports("ccnet_zoo") - set(UNDECLARED_OPTIONAL)
    assert {"diffusers", "transformers"} <= guarded
    for module in guarded:
        assert _distributions(module) & declared, f"ccnet_zoo optionally imports {module}, not declared in [sd]"


@pytest.mark.slow
def test_importing_all_of_ccnet_zoo_imports_no_pandas_or_sd_libraries():
    """[zoo] dropped pandas, diffusers and transformers: importing every module of ccnet_zoo needs none of them."""
    code = (
        "import importlib, pkgutil, sys, ccnet_zoo\n"
        "for m in pkgutil.walk_packages(ccnet_zoo.__path__, 'ccnet_zoo.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(m for m in ('pandas', 'diffusers', 'transformers', 'torch') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['torch']"  # torch shows the modules really were imported


def test_ccnet_zoo_cli_runs():
    from click.testing import CliRunner

    from ccnet_zoo.cli import main

    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0 and "CC-Net" in r.output
