"""The metric registry: one file plus one registry line make a metric, and everything else follows from it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ccnet_zoo.metrics import comparison_table, compute_metrics, report_table
from ccnet_zoo.metrics.registry import METRICS, Metric, metric

MODULE = """
import numpy as np

from ccnet_zoo.metrics.images import load_pair
from ccnet_zoo.metrics.result import per_pair_result


def compute(pairs, ctx):
    values = np.array([np.abs(a.astype(float) - b.astype(float)).max() for a, b in (load_pair(p.real, p.synth)
                                                                                   for p in pairs)])
    return per_pair_result("maxdiff", values, "largest grey-level difference")
"""


@pytest.fixture
def maxdiff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Metric:
    """A new metric, added the documented way: its own module and one registry entry."""
    (tmp_path / "extra_metrics").mkdir()  # a module outside the package (inside it, module="maxdiff" would do)
    (tmp_path / "extra_metrics" / "__init__.py").write_text("")
    (tmp_path / "extra_metrics" / "maxdiff.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    m = Metric("maxdiff", "MAXDIFF", lower_is_better=True, kind="pair", ci="paired", module="extra_metrics.maxdiff")
    monkeypatch.setitem(METRICS, "maxdiff", m)
    yield m
    for name in ("extra_metrics.maxdiff", "extra_metrics"):
        sys.modules.pop(name, None)


def test_shipped_metrics() -> None:
    assert list(METRICS) == ["frd", "fid", "lpips", "mse", "ssim", "msssim", "psnr"]
    assert [m.name for m in METRICS.values() if not m.lower_is_better] == ["ssim", "msssim", "psnr"]
    assert {m.name: m.kind for m in METRICS.values()} == {
        "frd": "set",
        "fid": "set",
        "lpips": "pair",
        "mse": "pair",
        "ssim": "pair",
        "msssim": "pair",
        "psnr": "pair",
    }
    assert metric("fid").header == "FID ↓" and metric("msssim").header == "MS-SSIM ↑"
    with pytest.raises(Exception, match="unknown metric 'vif'"):
        metric("vif")


def test_a_new_metric_is_one_file_and_one_line(maxdiff: Metric, dataset: tuple[Path, Path, Path]) -> None:
    _, real, synth = dataset
    report = compute_metrics(real, synth, phase=1, metrics=["mse", "maxdiff"])
    r = report["maxdiff"]
    assert r.available and r.n == report.n_pairs and len(r.per_pair) == r.n and r.value == np.mean(r.per_pair)
    assert list(report.results) == ["mse", "maxdiff"]  # registry order
    assert "| MAXDIFF |" in report_table(report)
    assert (
        comparison_table({"phase 1": report}, metrics=["mse", "maxdiff"]).splitlines()[0] == "| | MSE ↓ | MAXDIFF ↓ |"
    )


def test_cli_choices_and_table1_follow_the_registry(maxdiff: Metric, dataset: tuple[Path, Path, Path]) -> None:
    import importlib

    # by module name: the packages re-export same-named objects (ccnet_zoo.cli.metrics is also the command)
    names = ("ccnet_zoo.cli.metrics", "ccnet_zoo.reproduce.config", "ccnet_zoo.reproduce.table")
    cli_metrics, rconfig, rtable = (importlib.import_module(name) for name in names)

    try:
        for mod in (cli_metrics, rconfig, rtable):  # the choices and columns are read from the registry on import
            importlib.reload(mod)
        _, real, synth = dataset
        res = CliRunner().invoke(cli_metrics.metrics, [str(real), str(synth), "--phase", "1", "--metric", "maxdiff"])
        assert res.exit_code == 0, res.output
        assert "| MAXDIFF |" in res.stdout
        header = rtable.markdown([]).splitlines()[0]
        assert header == (
            "| phase | method | n pairs | FRD ↓ | FID ↓ | LPIPS ↓ | MSE ↓ | SSIM ↑ | MS-SSIM ↑ | PSNR ↑ | MAXDIFF ↓ "
            "| paper FRD |"
        )
        assert "maxdiff_std" in rtable.to_csv([]).splitlines()[0]
    finally:
        METRICS.pop("maxdiff", None)
        for mod in (cli_metrics, rconfig, rtable):
            importlib.reload(mod)
