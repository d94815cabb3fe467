"""CLI: phantom -> datalist end to end, one-line errors with exit code 2, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from zoo_helpers import assert_one_line_error

from ccnet_zoo.cli import main


@pytest.mark.slow
def test_phantom_then_datalist(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ph"
    args = [
        "phantom",
        "--out",
        str(out),
        "--patients",
        "6",
        "--slices",
        "2",
        "--size",
        "32",
        "--quiet",
        "--preview",
        str(tmp_path / "prev.png"),
        "--kinetics-plot",
        str(tmp_path / "kin.png"),
    ]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (out / "LDM_metadata.csv").is_file() and (tmp_path / "prev.png").stat().st_size > 1000
    assert (tmp_path / "kin.png").stat().st_size > 1000
    res = runner.invoke(main, ["datalist", "--data", str(out), "--text", "default"])
    assert res.exit_code == 0, res.output
    assert "train:" in res.output and (out / "datalists" / "train.tsv").is_file()


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    """Each data command's user error: exit 2, nothing on stdout, one ``ccnet-zoo CMD: error: ...`` line on stderr."""
    runner = CliRunner()
    out = tmp_path / "ph"
    small = ["--patients", "1", "--size", "16", "--quiet"]
    assert runner.invoke(main, ["phantom", "--out", str(out), *small]).exit_code == 0
    assert_one_line_error(runner.invoke(main, ["phantom", "--out", str(out), *small]), "phantom", "pass --overwrite")
    (tmp_path / "prev.png").write_bytes(b"mine")
    res = runner.invoke(
        main, ["phantom", "--out", str(tmp_path / "p2"), *small, "--preview", str(tmp_path / "prev.png")]
    )
    assert_one_line_error(res, "phantom", "prev.png exists")
    assert (tmp_path / "prev.png").read_bytes() == b"mine" and not (tmp_path / "p2").exists()
    duke = ["prepare-duke", "--dicom-root", str(tmp_path / "nope"), "--out", str(tmp_path / "d"), "--all-slices"]
    res = runner.invoke(main, duke)
    assert_one_line_error(res, "prepare-duke", "is not a folder")
    assert_one_line_error(
        runner.invoke(main, ["datalist", "--data", str(tmp_path / "nothing")]), "datalist", "does not exist"
    )


def test_a_bug_keeps_its_traceback(tmp_path: Path, monkeypatch) -> None:
    """Only the package's errors become one line: anything else propagates (exit 1, the exception kept)."""
    import ccnet_zoo.data.datalist as datalist

    def broken(*args, **kwargs):
        raise ValueError("a bug, not a user error")

    monkeypatch.setattr(datalist, "write_datalists", broken)
    res = CliRunner().invoke(main, ["datalist", "--data", str(tmp_path)])
    assert res.exit_code == 1 and isinstance(res.exception, ValueError) and "error:" not in res.stderr


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from ccnet_zoo.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); assert 'phantom' in r.output and 'prepare-duke' in r.output; "
        "r = CliRunner().invoke(main, ['phantom', '--help']); assert r.exit_code == 0; "
        "print('torch' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"
