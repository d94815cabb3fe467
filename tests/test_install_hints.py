"""What a user sees when an extra is missing, the entry points, ``frd --help`` and shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import ccnet_zoo._console as console
from frd._extras import DISTRIBUTION, install_command

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120)


def _name(req: str) -> str:
    return re.split(r"[ <>=!~;\[]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_distribution_name_is_ours_everywhere():
    """The index name is frd-radiomics (``frd`` there is someone else's); no install line still says ``frd``."""
    assert PYPROJECT["project"]["name"] == DISTRIBUTION == "frd-radiomics"
    assert install_command("zoo") == 'pip install "frd-radiomics[zoo]"'
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    texts += [p for pkg in ("frd", "ccnet_zoo") for p in sorted((ROOT / pkg).rglob("*.py"))]
    stale = re.compile(r"""pip install\s+(-U\s+)?["']?frd(\[|["'\s`]|$)""", re.M)
    for path in texts:
        text = path.read_text(encoding="utf-8")
        assert not stale.search(text), f"{path.relative_to(ROOT)} still installs 'frd': {stale.search(text)}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install frd-radiomics" in readme and "unrelated" in readme  # the sentence on why the name differs
    assert "make demo" in readme and "make test" in readme  # the README's two commands


def test_entry_points():
    scripts = PYPROJECT["project"]["scripts"]
    assert scripts == {"frd": "frd.cli:main", "ccnet-zoo": "ccnet_zoo._console:main"}


def test_zoo_guard_checks_exactly_the_zoo_extra():
    declared = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["zoo"]}
    assert {d.lower() for d in console.ZOO_MODULES.values()} == declared


def test_zoo_extra_leaves_out_sd_and_pandas():
    optional = PYPROJECT["project"]["optional-dependencies"]
    zoo = {_name(r) for r in optional["zoo"]}
    assert not zoo & {"diffusers", "transformers", "pandas"}
    assert {_name(r) for r in optional["sd"]} == {"frd-radiomics", "diffusers", "transformers"}
    assert "frd-radiomics[zoo]" in optional["sd"]


def test_ccnet_zoo_without_the_extra_is_one_line_exit_2(monkeypatch, capsys):
    """Every command goes through the guard; with torch and Pillow missing it names them and the install line."""
    real = console.importlib.util.find_spec
    monkeypatch.setattr(console.importlib.util, "find_spec", lambda n: None if n in ("torch", "PIL") else real(n))
    monkeypatch.setattr(console, "CLI", "no_such_module_the_guard_must_stop_first")
    with pytest.raises(SystemExit) as exit_info:
        console.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "missing torch, Pillow" in err and 'pip install "frd-radiomics[zoo]"' in err


def test_ccnet_zoo_with_the_extra_runs_the_cli():
    r = subprocess.run(
        [sys.executable, "-m", "ccnet_zoo", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "CC-Net" in r.stdout and "phantom" in r.stdout


def test_metric_torch_without_torch_names_the_torch_extra():
    r = _python(
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import frd.metric_torch\n"
        "except ImportError as err:\n    print(type(err).__name__, err)\n"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        "MissingExtraError frd.metric_torch needs the torch extra (torch is not installed): "
        'pip install "frd-radiomics[torch]"'
    )


def test_sd_path_without_diffusers_or_transformers_names_the_sd_extra(monkeypatch, tmp_path):
    from ccnet_zoo.models.clip import ClipTextEncoder
    from ccnet_zoo.models.errors import ConfigError
    from ccnet_zoo.models.sd import SDAutoencoder

    monkeypatch.setitem(sys.modules, "diffusers", None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    for build in (lambda: SDAutoencoder(tmp_path), lambda: ClipTextEncoder(tmp_path)):
        with pytest.raises(ConfigError) as err:
            build()
        assert 'pip install "frd-radiomics[sd]"' in str(err.value) and "\n" not in str(err.value)


def test_frd_help_shows_the_score_options():
    """``frd --help`` is the first thing a user types: it lists the default command's options, not only the group."""
    from click.testing import CliRunner

    from frd.cli import main

    out = CliRunner().invoke(main, ["--help"]).output
    section = out[out.index("Score options") :]
    for option in ("--preset", "--json", "--bootstrap", "--kid", "--fd-inf", "--save-stats", "--workers"):
        assert option in section
    assert "interpret" in out and "ood" in out


@pytest.mark.parametrize(
    ("module", "var", "words", "expected"),
    [
        ("frd.cli", "_FRD_COMPLETE", "frd score --pre", "--preset"),
        ("frd.cli", "_FRD_COMPLETE", "frd real/ synth/ --boot", "--bootstrap"),
        ("frd.cli", "_FRD_COMPLETE", "frd int", "interpret"),
        ("ccnet_zoo._console", "_CCNET_ZOO_COMPLETE", "ccnet-zoo phan", "phantom"),
    ],
)
def test_shell_completion(module, var, words, expected):
    """click's completion protocol, as docs/install.md tells users to enable it."""
    prog = words.split()[0]
    r = _python(
        f"import sys; sys.argv[0] = {prog!r}\nfrom {module} import main\nmain()",
        **{var: "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)},
    )
    assert r.returncode == 0, r.stderr
    assert f"plain,{expected}" in r.stdout.splitlines()
    script = _python(f"import sys; sys.argv[0] = {prog!r}\nfrom {module} import main\nmain()", **{var: "bash_source"})
    assert f"{var}=bash_complete" in script.stdout


@pytest.mark.slow
def test_sd_config_without_the_sd_extra_is_one_line_exit_2(tmp_path):
    """The CLI path: training the sd21 config with diffusers and transformers unimportable."""
    from ccnet_zoo.data.phantom import PhantomConfig, generate_phantom

    generate_phantom(tmp_path / "data", PhantomConfig(patients=4, slices=2, size=32), progress=False)
    for sub in ("vae", "unet", "text_encoder", "tokenizer"):
        (tmp_path / "sd" / sub).mkdir(parents=True)
    code = (
        "import sys; sys.modules['diffusers'] = None; sys.modules['transformers'] = None; sys.argv[0] = 'ccnet-zoo'\n"
        "from ccnet_zoo._console import main\nmain()"
    )
    args = ["train", "ldm", "--config", "sd21", "--data", "data", "--out", "run", "--pretrained", "sd", "--quiet"]
    r = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "ccnet-zoo train: error: the SD-2.1 path (kind 'sd') needs the sd extra: pip install \"frd-radiomics[sd]\""
    ]
