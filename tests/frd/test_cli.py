"""The frd command: stdout carries only the result, errors are one line with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from frd.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_prints_only_the_score(png_sets):
    r = run(*png_sets, "--preset", "v0", "-q")
    assert r.exit_code == 0, r.output
    assert float(r.stdout.strip()) > 0 and r.stdout.count("\n") == 1


def test_json_report(png_sets):
    r = run(*png_sets, "--preset", "ccnet", "--json", "-q")
    d = json.loads(r.stdout)
    assert next(iter(d)) == "frd"
    for key in (
        "d2",
        "preset",
        "settings",
        "settings_hash",
        "n",
        "features",
        "features_dropped",
        "skipped",
        "timings",
        "versions",
    ):
        assert key in d
    assert d["n"] == [12, 9] and d["n_features"] == 93 and d["settings"]["resize"] == [224, 224]


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tmp}/nope", "{b}"], "input not found"),
        (["{tmp}/empty", "{b}"], "no supported images"),
        (["{b}"], "one input given"),
        (["{a}", "{b}", "--preset", "v7"], "Invalid value"),
    ],
)
def test_errors_are_one_line_exit_2(png_sets, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    fmt = {"tmp": tmp_path, "a": png_sets[0], "b": png_sets[1]}
    r = run(*[a.format(**fmt) for a in args])
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_save_stats_then_use_it_and_never_overwrite(png_sets, tmp_path):
    a, b = png_sets
    out = tmp_path / "a.npz"
    assert run(a, "--preset", "v0", "--save-stats", out, "-q").exit_code == 0
    before = out.read_bytes()
    direct = float(run(a, b, "--preset", "v0", "-q").stdout)
    via = float(run(out, b, "--preset", "v0", "-q").stdout)
    assert via == pytest.approx(direct, rel=1e-10)
    r = run(a, "--preset", "v0", "--save-stats", out)
    assert r.exit_code == 2 and "exists" in r.stderr and out.read_bytes() == before
    r = run(out, b, "--preset", "v1")
    assert r.exit_code == 2 and "other settings" in r.stderr


def test_file_list_input(png_sets, tmp_path):
    a, b = png_sets
    lst = tmp_path / "list.txt"
    lst.write_text("\n".join(str(p) for p in sorted(a.iterdir())[:5]), encoding="utf-8")
    r = run(lst, b, "--preset", "v0", "--json", "-q")
    assert json.loads(r.stdout)["n"] == [5, 9]


def test_entry_points_and_import_does_not_pull_torch():
    code = "import sys, frd, frd.cli; assert 'torch' not in sys.modules; assert 'radiomics' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run([sys.executable, "-m", "frd", "--version"], capture_output=True, text=True, check=True)
    assert "frd" in out.stdout


def test_bootstrap_prints_interval_and_json_has_analyses(png_sets):
    r = run(*png_sets, "--preset", "v0", "--bootstrap", "50", "--seed", "3", "-q")
    assert r.exit_code == 0, r.output
    score, interval = r.stdout.strip().split(" ", 1)
    lo, hi = (float(v) for v in interval.strip("[]").split(","))
    assert lo < hi and float(score) > 0
    assert r.stdout == run(*png_sets, "--preset", "v0", "--bootstrap", "50", "--seed", "3", "-q").stdout
    d = json.loads(run(*png_sets, "--preset", "v0", "--kid", "--fd-inf", "--match-sample-count", "--json", "-q").stdout)
    assert d["n"] == [9, 9] and d["kid"]["n_subsets"] == 100 and "frd_inf" in d["fd_inf"]


def test_save_features_csv_and_parquet(png_sets, tmp_path):
    import csv

    out = tmp_path / "feat.csv"
    assert run(*png_sets, "--preset", "v0", "--save-features", out, "-q").exit_code == 0
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["set", "path"] and len(rows) == 1 + 12 + 9 and len(rows[0]) == 2 + 102
    assert rows[1][0] == "A" and rows[-1][0] == "B" and rows[1][1].endswith("img_000.png")
    pq = tmp_path / "feat.parquet"
    assert run(*png_sets, "--preset", "v0", "--save-features", pq, "-q").exit_code == 0
    import pandas as pd

    assert pd.read_parquet(pq).shape == (21, 104)
    r = run(*png_sets, "--preset", "v0", "--save-features", out, "-q")
    assert r.exit_code == 2 and "exists" in r.stderr
