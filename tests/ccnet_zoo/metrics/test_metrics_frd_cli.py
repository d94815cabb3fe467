"""FRD goes through frd.compute_frd (preset ccnet by default), and the `metrics`/`weights` commands."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import frd
from ccnet_zoo.cli.metrics import metrics
from ccnet_zoo.cli.weights import weights
from ccnet_zoo.metrics import compute_metrics, pair_images


@click.group()
def _cli() -> None:
    """Stand-in for ccnet_zoo.cli.main (the lead registers the real commands)."""


_cli.add_command(metrics)
_cli.add_command(weights)


@pytest.mark.slow
def test_frd_is_frd_compute_frd(dataset: tuple[Path, Path, Path]) -> None:
    pre, real, _ = dataset
    report = compute_metrics(pre, real, phase=2, real_phase=0, metrics=["frd"], frd_options={"workers": 1})
    pairs = pair_images(pre, real, phase=2, real_phase=0).pairs
    want = frd.compute_frd([p.real for p in pairs], [p.synth for p in pairs], preset="ccnet", workers=1)
    r = report["frd"]
    assert r.value == pytest.approx(want.frd) and r.n == [9, 9] and r.details["preset"] == "ccnet"
    other = compute_metrics(
        pre, real, phase=2, real_phase=0, metrics=["frd"], frd_preset="v0", frd_options={"workers": 1}
    )
    assert other["frd"].details["preset"] == "v0" and other["frd"].value != pytest.approx(r.value)


@pytest.mark.slow
def test_metrics_cli_table_json_and_errors(dataset: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, real, synth = dataset
    runner = CliRunner()
    res = runner.invoke(
        _cli, ["metrics", str(real), str(synth), "--phase", "1", "--metric", "mse", "--metric", "lpips"]
    )
    assert res.exit_code == 0, res.output
    assert "9 pairs (corrected)" in res.output and "| MSE |" in res.output
    assert "run `ccnet-zoo weights fetch lpips-alexnet-jax`" in res.output
    out = tmp_path / "report.json"
    res = runner.invoke(
        _cli,
        [
            "metrics",
            str(real),
            str(synth),
            "--phase",
            "1",
            "--metric",
            "mse",
            "--json",
            "--paper-quirks",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["settings"]["paper_quirks"] is True and data["results"]["mse"]["n"] == 9
    assert len(json.loads(out.read_text())["results"]["mse"]["per_pair"]) == 9
    res = runner.invoke(_cli, ["metrics", str(real), str(synth), "--metric", "mse", "--out", str(out)])
    assert res.exit_code == 2 and "exists" in res.output
    res = runner.invoke(_cli, ["metrics", str(real), str(synth), "--phase", "3"])
    assert res.exit_code == 2 and "error: no real/synthetic pair" in res.output


def test_weights_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(_cli, ["weights", "list"])
    assert res.exit_code == 0 and "fid-inception" in res.output
    assert "lpips-alexnet-jax        missing" in res.output
    res = runner.invoke(_cli, ["weights", "path", "fid-inception"])
    assert res.exit_code == 2 and "run `ccnet-zoo weights fetch fid-inception`" in res.output
    res = runner.invoke(_cli, ["weights", "fetch", "fid-inception"])  # CCNET_ZOO_OFFLINE=1 in these tests
    assert res.exit_code == 2 and "offline" in res.output
    src = tmp_path / "lab.safetensors"
    src.write_bytes(b"weights of a lab")
    res = runner.invoke(_cli, ["weights", "add", "lab", "--file", str(src), "--kind", "ccnet"])
    assert res.exit_code == 0 and "registered lab" in res.output
    res = runner.invoke(_cli, ["weights", "path", "lab"])
    assert res.exit_code == 0 and Path(res.output.strip()).read_bytes() == b"weights of a lab"
    res = runner.invoke(_cli, ["weights", "verify", "lab"])
    assert res.exit_code == 0 and "lab: ok" in res.output
    Path(runner.invoke(_cli, ["weights", "path", "lab"]).output.strip()).write_bytes(b"tampered")
    res = runner.invoke(_cli, ["weights", "verify", "lab"])
    assert res.exit_code == 2 and "mismatch-removed" in res.output
    res = runner.invoke(_cli, ["weights", "list", "--json"])
    assert {e["name"]: e["state"] for e in json.loads(res.output)}["lab"] == "missing"
    res = runner.invoke(_cli, ["weights", "add", "x", "--url", "http://127.0.0.1:9/x.bin"])
    assert res.exit_code == 2 and "--sha256" in res.output
