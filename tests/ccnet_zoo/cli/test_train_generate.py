"""``train`` and ``generate`` commands: success paths, one-line errors with exit code 2, lazy torch import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner
from zoo_helpers import tiny32

from ccnet_zoo.cli.generate import generate
from ccnet_zoo.cli.train import train


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and text in lines[0], result.output


def test_train_with_overrides_then_generate_and_measure(
    zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path
) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(tiny32()))
    runner = CliRunner()
    args = ["ldm", "--config", str(cfg), "--data", str(zoo_phantom), "--out", str(tmp_path / "l")]
    links = ["--ae", str(trained_runs["ae"]), "--mean", str(trained_runs["mean"])]
    res = runner.invoke(train, [*args, *links, "--epochs", "2", "--lr", "0.002", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "best checkpoint" in res.output
    written = yaml.safe_load((tmp_path / "l" / "config.yaml").read_text())
    assert written["train"]["ldm"]["epochs"] == 2 and written["train"]["ldm"]["lr"] == 0.002
    res = runner.invoke(
        generate,
        [
            "--controlnet",
            str(trained_runs["controlnet"]),
            "--data",
            str(zoo_phantom),
            "--out",
            str(tmp_path / "g"),
            "--split",
            "test",
            "--split",
            "validation",
            "--steps",
            "2",
            "--batch-size",
            "5",
            "--measure",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "slope per 100 s" in res.output and (tmp_path / "g" / "enhancement.json").is_file()
    assert any((tmp_path / "g").glob("p1/*_0001_slice*.png"))


def test_errors_are_one_line_with_exit_code_2(zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data", str(zoo_phantom), "--out", str(tmp_path / "o"), "--quiet"]
    _one_line_error(runner.invoke(train, ["ldm", *base]), "--ae RUN")
    _one_line_error(runner.invoke(train, ["ae", "--config", "nope", *base]), "unknown config 'nope'")
    _one_line_error(
        runner.invoke(train, ["ae", "--data", str(tmp_path), "--out", str(tmp_path / "o")]), "neither a dataset"
    )
    _one_line_error(
        runner.invoke(generate, ["--controlnet", str(trained_runs["ldm"]), *base]),
        "'ldm' checkpoint; expected the 'controlnet'",
    )
    _one_line_error(runner.invoke(generate, ["--controlnet", str(tmp_path / "none"), *base]), "train that stage first")


def test_set_on_train_and_generate(zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path) -> None:
    """``--set KEY=VALUE`` works on train (any config key; the dedicated options win) and on generate (sample.*)."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(tiny32()))
    runner = CliRunner()
    args = ["ae", "--config", str(cfg), "--data", str(zoo_phantom), "--out", str(tmp_path / "a"), "--quiet"]
    res = runner.invoke(
        train, [*args, "--set", "train.ae.lr=0.0005", "--set", "seed=7", "--set", "train.ae.epochs=3", "--epochs", "1"]
    )
    assert res.exit_code == 0, res.output
    written = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert (written["train"]["ae"]["lr"], written["seed"], written["train"]["ae"]["epochs"]) == (0.0005, 7, 1)
    res = runner.invoke(train, [*args, "--overwrite", "--set", "train.ae.epochs=zero"])
    assert res.exit_code == 2 and "train.ae.epochs" in res.stderr
    gen = ["--controlnet", str(trained_runs["controlnet"]), "--data", str(zoo_phantom), "--limit", "2", "--quiet"]
    res = runner.invoke(
        generate, [*gen, "--out", str(tmp_path / "g"), "--set", "sample.steps=1", "--set", "sample.guidance_scale=null"]
    )
    assert res.exit_code == 0, res.output
    _one_line_error(
        runner.invoke(generate, [*gen, "--out", str(tmp_path / "h"), "--set", "ldm.kind=sd"]),
        "may only change sample.*",
    )
    _one_line_error(
        runner.invoke(generate, [*gen, "--out", str(tmp_path / "h"), "--set", "sample.steps=0"]), "sample.steps"
    )
    assert not (tmp_path / "h").exists()


def test_set_errors_name_the_key_before_any_work(tmp_path: Path) -> None:
    """A ``--set`` of the wrong type or an unknown key is one line naming it, on train, generate and reproduce
    alike, before any data is read, any weights are loaded or any output folder is made."""
    from zoo_helpers import assert_one_line_error

    from ccnet_zoo.cli import main

    nowhere = ["--data", str(tmp_path / "no-data"), "--out", str(tmp_path / "o"), "--quiet"]
    for sets, text in (
        (["train.ae.lr=fast"], "'train.ae.lr' must be int/float, got 'fast'"),
        (["train.ae.epoch=2"], "unknown key 'train.ae.epoch'"),
        (["autoencoder.scale_factor=[1]"], "'autoencoder.scale_factor' must be int/float"),
    ):
        args = ["train", "ae", *nowhere, *(a for s in sets for a in ("--set", s))]
        assert_one_line_error(CliRunner().invoke(main, args), "train", text)
    gen = ["generate", "--controlnet", str(tmp_path / "no-run"), *nowhere]
    assert_one_line_error(
        CliRunner().invoke(main, [*gen, "--set", "sample.steps=many"]), "generate", "'sample.steps' must be int"
    )
    assert_one_line_error(
        CliRunner().invoke(main, [*gen, "--set", "sample.step=3"]), "generate", "unknown key 'sample.step'"
    )
    rep = ["reproduce", "--table", "1", "--out", str(tmp_path / "r")]
    assert_one_line_error(
        CliRunner().invoke(main, [*rep, "--set", "sample.guidance_scale=yes"]),
        "reproduce",
        "'sample.guidance_scale' must be a number, got True",
    )
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


def test_generate_set_changes_the_images(trained_runs: dict[str, Path], zoo_phantom: Path, tmp_path: Path) -> None:
    """sample.steps from --set is the one used: 1 step and 3 steps give different images, --steps 1 the same."""
    from ccnet_zoo.data.layout import read_png

    gen = ["--controlnet", str(trained_runs["controlnet"]), "--data", str(zoo_phantom), "--limit", "1", "--quiet"]
    outs = {}
    for tag, extra in (
        ("set1", ["--set", "sample.steps=1"]),
        ("opt1", ["--steps", "1"]),
        ("set3", ["--set", "sample.steps=3"]),
    ):
        assert CliRunner().invoke(generate, [*gen, "--out", str(tmp_path / tag), *extra]).exit_code == 0
        outs[tag] = read_png(next((tmp_path / tag).rglob("*.png")))
    assert (outs["set1"] == outs["opt1"]).all() and not (outs["set1"] == outs["set3"]).all()


def test_python_m_ccnet_zoo() -> None:
    res = subprocess.run([sys.executable, "-m", "ccnet_zoo", "--help"], capture_output=True, text=True, check=True)
    assert "reproduce" in res.stdout and "export" in res.stdout and "python -m ccnet_zoo" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "ccnet_zoo.train", "--help"], capture_output=True, text=True, check=True
    )
    assert "python -m ccnet_zoo.train" in res.stdout and "--set KEY=VALUE" in res.stdout


def test_importing_the_commands_does_not_import_torch() -> None:
    code = "import sys, ccnet_zoo.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
