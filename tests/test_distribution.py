"""The built distribution: wheel and sdist from a copy of the tree, a core-only install, the sdist's own tests.

Slow (a build, a virtual environment, the fast lane of the sdist's suite), so all of it runs in ``make test`` only.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

from datagen import write_png_set

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: What a clean clone does not have: local environments, build outputs and caches.
NOT_SOURCE = {".git", ".venv", "build", "dist", "site", ".pytest_cache", ".ruff_cache", ".hypothesis", ".benchmarks"}


def _copy_source(dest: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == ROOT
        return {n for n in names if (top and n in NOT_SOURCE) or n == "__pycache__" or n.endswith(".egg-info")}

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist, then the wheel built from that sdist (what ``python -m build`` does), from a copy of the tree."""
    root = tmp_path_factory.mktemp("dist")
    src = _copy_source(root / "src")
    cmd = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "out"), str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (sdist,) = (root / "out").glob("*.tar.gz")
    (wheel,) = (root / "out").glob("*.whl")
    return {"root": root, "sdist": sdist, "wheel": wheel}


def _wheel_metadata(wheel: Path) -> tuple[list[str], email.message.Message]:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        return names, email.parser.Parser().parsestr(zf.read(meta).decode("utf-8"))


def test_wheel_name_license_typing_and_package_data(built):
    names, meta = _wheel_metadata(built["wheel"])
    assert meta["Name"] == "frd-radiomics"
    assert meta["License-Expression"] == "Apache-2.0" and meta.get_all("License-File") == ["LICENSE"]
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(built["wheel"]) as zf:
        assert "Apache License" in zf.read(license_file).decode("utf-8")
    assert {"frd/py.typed", "ccnet_zoo/py.typed"} <= set(names)
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            in_source = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / package).glob(pattern))
            assert in_source, f"package data {package}/{pattern} is declared but matches no file"
            assert set(in_source) <= set(names), f"{package}/{pattern}: not all in the wheel"
    extras = meta.get_all("Provides-Extra")
    assert {"zoo", "sd", "torch"} <= set(extras)
    zoo = {Requirement(r).name.lower() for r in meta.get_all("Requires-Dist") if 'extra == "zoo"' in r}
    assert "torch" in zoo and not zoo & {"diffusers", "transformers", "pandas"}


def test_sdist_carries_what_the_suite_needs(built):
    with tarfile.open(built["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for path in (
        "LICENSE",
        "constraints.txt",
        "Makefile",
        "mkdocs.yml",
        "README.md",
        "CHANGELOG.md",
        "CITATION.cff",
        "tests/conftest.py",
        "tests/datagen.py",
        "docs/index.md",
        "frd/py.typed",
    ):
        assert path in names, f"the sdist lacks {path}"
    tracked_tests = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("*.py")}
    assert tracked_tests <= names, sorted(tracked_tests - names)[:5]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_unpacked_sdist_passes_the_fast_lane(built):
    """Anyone with only the sdist can run the tests: the fast lane, with this interpreter, on the unpacked copy."""
    dest = built["root"] / "unpacked"
    with tarfile.open(built["sdist"]) as tf:
        tf.extractall(dest, filter="data")
    (src,) = dest.iterdir()
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    where = subprocess.run(
        [sys.executable, "-c", "import frd; print(frd.__file__)"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert Path(where.stdout.strip()).is_relative_to(src), where.stdout + where.stderr
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-m", "not slow and not network", "-p", "no:cacheprovider"]
    r = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout.splitlines()[-1]


def _core_closure() -> set[str]:
    """Installed distributions that the core requirements pull in (markers evaluated, no extras)."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    while todo:
        req = todo.pop()
        if (req.marker is not None and not req.marker.evaluate({"extra": ""})) or req.name.lower() in seen:
            continue
        seen.add(req.name.lower())
        todo += [Requirement(r) for r in metadata.requires(req.name) or []]
    return seen


def _core_only_env(root: Path, wheel: Path) -> Path:
    """A virtual environment with the wheel (no deps) and, as links into this one, only the core's closure."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for name in _core_closure():
        dist = metadata.distribution(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if not (site / top).exists() and top != "__pycache__":
                (site / top).symlink_to(Path(str(dist.locate_file(top))).resolve())
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout  # the links satisfy every core requirement
    return root / "bin"


def test_core_install_without_extras(built, tmp_path):
    """pip install frd-radiomics alone: frd works without torch; what needs an extra says so in one line."""
    bindir = _core_only_env(tmp_path / "venv", built["wheel"])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["FRD_CACHE_DIR"] = str(tmp_path / "cache")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    probe = run(
        str(bindir / "python"),
        "-c",
        "import frd, importlib.util as u, sys; "
        "print(frd.__file__, u.find_spec('torch') is None, 'torch' in sys.modules)",
    )
    where, no_torch, imported = probe.stdout.split()
    assert Path(where).is_relative_to(tmp_path / "venv") and no_torch == "True" and imported == "False", probe
    write_png_set(tmp_path / "a", 6, seed=1, size=32)
    write_png_set(tmp_path / "b", 6, seed=2, size=32, smooth=1.0)
    score = run(str(bindir / "frd"), "a", "b", "-q", "--workers", "1")
    assert score.returncode == 0 and float(score.stdout) == float(score.stdout), score.stderr
    assert "Score options" in run(str(bindir / "frd"), "--help").stdout

    zoo_line = 'pip install "frd-radiomics[zoo]"'
    for cmd in (
        [str(bindir / "ccnet-zoo"), "phantom", "--out", "data"],
        [str(bindir / "ccnet-zoo"), "--help"],
        [str(bindir / "python"), "-m", "ccnet_zoo", "weights", "list"],
    ):
        r = run(*cmd)
        assert r.returncode == 2 and r.stdout == "", (cmd, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and zoo_line in r.stderr and "torch" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()

    metric = run(str(bindir / "python"), "-c", "import frd.metric_torch")
    assert metric.returncode == 1
    assert metric.stderr.strip().splitlines()[-1] == (
        "frd._extras.MissingExtraError: frd.metric_torch needs the torch extra (torch is not installed): "
        'pip install "frd-radiomics[torch]"'
    )
