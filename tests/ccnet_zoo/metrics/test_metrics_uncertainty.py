"""Intervals over patients (not slices), paired differences and the verdict of a baseline/CC-Net comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ccnet_zoo.metrics import MetricsError, compute_metrics
from ccnet_zoo.metrics.uncertainty import (
    BETTER,
    INCONCLUSIVE,
    WORSE,
    cluster_bootstrap,
    paired_difference,
    verdict_from_difference,
)
from ccnet_zoo.reproduce.table import build_rows, markdown, verdict


def test_bootstrap_resamples_patients_not_slices() -> None:
    """Two patients, 20 slices each, one value per patient: the interval spans both patients' values. A bootstrap
    over slices would pretend 40 independent values and give an interval of about ±0.16 around 0.5."""
    values = [0.0] * 20 + [1.0] * 20
    iv = cluster_bootstrap(values, ["A"] * 20 + ["B"] * 20, n_resamples=1000)
    assert iv.low == 0.0 and iv.high == 1.0 and iv.n == 40 and iv.n_groups == 2
    by_slice = cluster_bootstrap(values, list(range(40)), n_resamples=1000)
    assert 0.25 < by_slice.low < by_slice.high < 0.75


def test_interval_is_reproducible_and_contains_the_mean() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(2.0, 1.0, 60)
    groups = np.repeat(np.arange(12), 5).tolist()
    a, b = cluster_bootstrap(values, groups), cluster_bootstrap(values, groups)
    assert a == b and a.low < values.mean() < a.high
    with pytest.raises(MetricsError, match="group labels"):
        cluster_bootstrap(values, groups[:-1])


def _rows(offsets: dict[str, float], slices: int = 5) -> tuple[dict, dict]:
    """Baseline value 1.0 per (patient, slice); the model's is 1.0 - offset of the patient (lower is better)."""
    base = {(p, s): 1.0 for p in offsets for s in range(slices)}
    model = {(p, s): 1.0 - off + 0.01 * s for p, off in offsets.items() for s in range(slices)}
    return base, model


def test_constructed_straddling_case_is_inconclusive() -> None:
    """Half the patients improve by 0.2, half get worse by 0.2: the mean improvement is ~0, its interval straddles 0."""
    base, model = _rows({f"P{i}": (0.2 if i % 2 else -0.2) for i in range(10)})
    mean, iv = paired_difference(base, model, lower_is_better=True)
    assert iv.low < 0 < iv.high and abs(mean) < 0.05 and iv.n_groups == 10
    assert verdict_from_difference(iv.low, iv.high) == INCONCLUSIVE


def test_clear_improvement_and_clear_loss() -> None:
    base, model = _rows({f"P{i}": 0.1 + 0.02 * i for i in range(8)})
    _, iv = paired_difference(base, model, lower_is_better=True)
    assert iv.low > 0 and verdict_from_difference(iv.low, iv.high) == BETTER
    _, iv = paired_difference(base, model, lower_is_better=False)  # the same numbers for a higher-is-better metric
    assert iv.high < 0 and verdict_from_difference(iv.low, iv.high) == WORSE
    with pytest.raises(MetricsError, match="share no"):
        paired_difference({("A", 1): 1.0}, {("B", 1): 1.0}, lower_is_better=True)


def test_reports_carry_intervals_and_verdicts(dataset: tuple[Path, Path, Path]) -> None:
    pre, real, synth = dataset
    kw = {"metrics": ["mse", "ssim", "psnr"]}
    base = compute_metrics(pre, real, phase=1, real_phase=0, **kw).to_dict(per_pair=True)
    model = compute_metrics(real, synth, phase=1, **kw).to_dict(per_pair=True)
    ci = model["results"]["mse"]["details"]["ci"]
    assert ci["n_groups"] == 3 and ci["n"] == 9 and ci["low"] <= model["results"]["mse"]["value"] <= ci["high"]
    assert model["pair_keys"][0] == ["Breast_MRI_001", 3, 1]
    for m in ("mse", "ssim", "psnr"):  # the noisy copy is far closer to phase 1 than the pre-contrast image
        v = verdict(base, model, m)
        assert v["verdict"] == BETTER and v["n_pairs"] == 9 and v["n_patients"] == 3, (m, v)
    # the same rows with the model's values replaced by the baseline's plus symmetric noise: inconclusive
    flipped = {**model, "results": {**model["results"]}}
    vals = np.array(base["results"]["mse"]["per_pair"])
    flipped["results"]["mse"] = {
        **model["results"]["mse"],
        "per_pair": (vals + np.tile([0.002, -0.002, 0.0], 3)).tolist(),
    }
    assert verdict(base, flipped, "mse")["verdict"] == INCONCLUSIVE
    rows = build_rows({1: {"pre-contrast baseline": base, "CC-Net": model}})
    assert rows[0]["few_pairs"] and rows[0]["mse_cell"].endswith("(n=9) †") and "[" in rows[0]["mse_cell"]
    table = markdown(
        rows, {1: {m: verdict(base, model, m) for m in ("frd", "fid", "lpips", "mse", "ssim", "msssim", "psnr")}}
    )
    na, ok = "not available", "CC-Net better"
    cells = table.splitlines()[-3].split(" | ")
    assert cells[1:4] == [na, na, na] and cells[6] == na
    for i, m in ((4, "mse"), (5, "ssim"), (7, "psnr")):  # verdict, Δ = CC-Net − baseline and its interval
        v = verdict(base, model, m)
        lo, hi = v["difference_ci"]
        assert cells[i].rstrip(" |") == f"{ok}: Δ {v['difference']:.4g} [{lo:.4g}, {hi:.4g}]"
        assert v["difference"] == pytest.approx(np.mean(model["results"][m]["per_pair"]) - base["results"][m]["value"])
        assert (lo < hi < 0) if m == "mse" else (0 < lo < hi)


def test_metrics_cli_prints_the_interval(dataset: tuple[Path, Path, Path]) -> None:
    from click.testing import CliRunner

    from ccnet_zoo.cli import main

    _, real, synth = dataset
    res = CliRunner().invoke(main, ["metrics", str(real), str(synth), "--phase", "1", "--metric", "mse"])
    assert res.exit_code == 0, res.output
    assert "| metric | value | 95 % interval | n | note |" in res.output
    row = next(line for line in res.output.splitlines() if line.startswith("| MSE"))
    low, high = (float(x) for x in row.split("|")[3].strip(" []").split(","))
    assert low <= float(row.split("|")[2].split("±")[0]) <= high
