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


def test_train_with_overrides_then_generate_and_measure(zoo_phantom: Path, trained_runs: dict[str, Path],
                                                       tmp_path: Path) -> None:  # fmt: skip
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(tiny32()))
    runner = CliRunner()
    args = ["ldm", "--config", str(cfg), "--data", str(zoo_phantom), "--out", str(tmp_path / "l")]
    res = runner.invoke(train, [*args, "--ae", str(trained_runs["ae"]), "--epochs", "2", "--lr", "0.002", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "best checkpoint" in res.output
    written = yaml.safe_load((tmp_path / "l" / "config.yaml").read_text())
    assert written["train"]["ldm"]["epochs"] == 2 and written["train"]["ldm"]["lr"] == 0.002
    res = runner.invoke(generate, ["--controlnet", str(trained_runs["controlnet"]), "--data", str(zoo_phantom),
                                   "--out", str(tmp_path / "g"), "--split", "test", "--split", "validation",
                                   "--steps", "2", "--batch-size", "5", "--measure", "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "slope per 100 s" in res.output and (tmp_path / "g" / "enhancement.json").is_file()
    assert any((tmp_path / "g").glob("p1/*_0001_slice*.png"))


def test_errors_are_one_line_with_exit_code_2(zoo_phantom: Path, trained_runs: dict[str, Path],
                                              tmp_path: Path) -> None:  # fmt: skip
    runner = CliRunner()
    base = ["--data", str(zoo_phantom), "--out", str(tmp_path / "o"), "--quiet"]
    _one_line_error(runner.invoke(train, ["ldm", *base]), "--ae RUN")
    _one_line_error(runner.invoke(train, ["ae", "--config", "nope", *base]), "unknown config 'nope'")
    _one_line_error(runner.invoke(train, ["ae", "--data", str(tmp_path), "--out", str(tmp_path / "o")]),
                    "neither a dataset")  # fmt: skip
    _one_line_error(runner.invoke(generate, ["--controlnet", str(trained_runs["ldm"]), *base]),
                    "'ldm' checkpoint; expected the 'controlnet'")  # fmt: skip
    _one_line_error(runner.invoke(generate, ["--controlnet", str(tmp_path / "none"), *base]), "train that stage first")


def test_importing_the_commands_does_not_import_torch() -> None:
    code = "import sys, ccnet_zoo.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
