"""CLI: phantom -> datalist end to end, one-line errors with exit code 2, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ccnet_zoo.cli import main


def test_phantom_then_datalist(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ph"
    args = ["phantom", "--out", str(out), "--patients", "6", "--slices", "2", "--size", "32", "--quiet",
            "--preview", str(tmp_path / "prev.png"), "--kinetics-plot", str(tmp_path / "kin.png")]  # fmt: skip
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (out / "LDM_metadata.csv").is_file() and (tmp_path / "prev.png").stat().st_size > 1000
    assert (tmp_path / "kin.png").stat().st_size > 1000
    res = runner.invoke(main, ["datalist", "--data", str(out), "--text", "default"])
    assert res.exit_code == 0, res.output
    assert "train:" in res.output and (out / "datalists" / "train.tsv").is_file()


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ph"
    assert (
        runner.invoke(main, ["phantom", "--out", str(out), "--patients", "1", "--size", "16", "--quiet"]).exit_code == 0
    )
    res = runner.invoke(main, ["phantom", "--out", str(out), "--patients", "1", "--size", "16", "--quiet"])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "pass --overwrite" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(main, ["prepare-duke", "--dicom-root", str(tmp_path / "nope"), "--out", str(tmp_path / "d"),
                               "--boxes", "b.csv"])  # fmt: skip
    assert res.exit_code == 2 and "is not a folder" in res.output
    res = runner.invoke(main, ["datalist", "--data", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    assert runner.invoke(main, ["phantom", "--out", str(tmp_path / "x"), "--post-phases", "7"]).exit_code == 2


def test_help_does_not_import_torch() -> None:
    code = ("import sys; from click.testing import CliRunner; from ccnet_zoo.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert 'phantom' in r.output and 'prepare-duke' in r.output; "
            "r = CliRunner().invoke(main, ['phantom', '--help']); assert r.exit_code == 0; "
            "print('torch' in sys.modules, 'pandas' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
