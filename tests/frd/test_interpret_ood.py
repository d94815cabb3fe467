"""Interpretation (contributions add up to d², plots written) and OOD detection."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import frd
from frd.cli import main
from frd.interpret import CONTRIBUTIONS_CSV, PLOTS, interpret
from frd.ood import auc, detect_ood

from datagen import write_png_set


@pytest.mark.slow
def test_contributions_sum_to_d2_and_files_are_written(png_sets, tmp_path):
    s = frd.resolve_settings("v1")
    a, b = frd.compute_stats(list(png_sets), s)
    res = interpret(a, b, s, tmp_path / "out", top=10, thumbs=3)
    d2 = frd.frd_from_stats(a, b, s).d2_raw
    assert res.total.sum() == pytest.approx(d2, rel=1e-9)
    assert list(res.total) == sorted(res.total, reverse=True)
    for name in (CONTRIBUTIONS_CSV, *PLOTS):
        assert (tmp_path / "out" / name).stat().st_size > 1000
    with open(tmp_path / "out" / CONTRIBUTIONS_CSV, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["feature"] == res.features[0] and len(rows) == len(res.features)
    assert len(res.typical) == 3 and set(res.typical).isdisjoint(res.atypical)
    with pytest.raises(frd.OutputExistsError):
        interpret(a, b, s, tmp_path / "out")


def test_mean_shift_feature_ranks_first():
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(6)]
    s = frd.resolve_settings("v0", norm_ref="joint")
    xa = rng.normal(size=(80, 6))
    xb = rng.normal(size=(80, 6))
    xb[:, 4] += 3.0
    a, b = (frd.FeatureStats.from_features(x, names, s) for x in (xa, xb))
    mean_part, cov_part = __import__("frd.interpret", fromlist=["contributions"]).contributions(
        *(lambda n: (n.mu[0], n.cov[0], n.mu[1], n.cov[1]))(frd.stats.normalize(a, b, s))
    )
    assert int(np.argmax(mean_part + cov_part)) == 4


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(1)
    neg, pos = rng.normal(size=30), rng.normal(0.8, 1, size=25)
    pos[:3] = neg[:3]  # ties
    pairs = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert auc(neg, pos) == pytest.approx(pairs)


def test_ood_flags_shifted_images_and_keeps_every_file_name(tmp_path):
    ref, test = tmp_path / "ref", tmp_path / "test"
    write_png_set(ref, 30, seed=1)
    write_png_set(test, 4, seed=2)  # in distribution
    shifted = tmp_path / "shifted"
    write_png_set(shifted, 4, seed=3, smooth=0.6, contrast=0.2)
    for f in sorted(shifted.iterdir()):
        shutil.copy(f, test / f"shifted_{f.name}")
    (test / "zz_broken.png").write_bytes(b"not an image")
    s = frd.resolve_settings("v0")
    sr, st = frd.compute_stats([ref, test], s, skip_invalid=True)
    res = detect_ood(sr, st, val_frac=0.3, seed=0)
    by_name = {r["filename"].rsplit("/", 1)[-1]: r for r in res.rows}
    assert len(res.rows) == 9 and by_name["zz_broken.png"]["status"].startswith("skipped")
    flagged = {n for n, r in by_name.items() if r["ood"] is True}
    assert {n for n in by_name if n.startswith("shifted_")} <= flagged
    assert 0 < res.nfrd <= 1 and res.auc > 0.5
    assert all(0 < r["p_value"] <= 1 for r in res.rows if r["status"] == "ok")


def test_cli_interpret_and_ood(png_sets, tmp_path):
    r = CliRunner().invoke(main, ["interpret", *map(str, png_sets), "--out", str(tmp_path / "i"), "--preset", "v0"])
    assert r.exit_code == 0, r.output
    assert len(r.stdout.strip().splitlines()) == 10
    out = tmp_path / "o.csv"
    r = CliRunner().invoke(main, ["ood", *map(str, png_sets), "--out", str(out), "--preset", "v0", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["n_test"] == 9 and 0 <= summary["nfrd"] <= 1
    r = CliRunner().invoke(main, ["ood", *map(str, png_sets), "--out", str(out)])
    assert r.exit_code == 2 and "exists" in r.stderr
