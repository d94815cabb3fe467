"""frd vs the reference CLI (frd-score 1.0.1) on 2x32 generated 256x256 images, preset v1.

Run with ``make bench``. Times are wall-clock seconds from pytest-benchmark; the ratios that the
targets are about are written to build/benchmarks/frd_speed.json and printed at the end:

* cold:  ``frd A B`` with an empty cache  /  ``python -m frd_score A B`` (its default workers)
* warm:  ``frd A B`` with a filled cache  /  ``frd A B`` cold (both in-process API and CLI); target ≤ 0.05
* exact: what the reference arithmetic (``frd.replay``) costs over float64 moments, as a share of
  the cold API run; target ≤ 0.10
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import frd

from datagen import write_png_set

N, SIZE = 32, 256
RESULTS: dict[str, float] = {}
OUT = Path(__file__).parents[1] / "build" / "benchmarks" / "frd_speed.json"


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    write_png_set(root / "a", N, seed=11, size=SIZE)
    write_png_set(root / "b", N, seed=12, size=SIZE, smooth=1.2, contrast=0.7)
    yield root / "a", root / "b"
    _report()


def _record(name, benchmark):
    RESULTS[name] = benchmark.stats.stats.median


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_reference_cli_cold(benchmark, sets):
    pytest.importorskip("frd_score")
    cmd = [sys.executable, "-m", "frd_score", str(sets[0]), str(sets[1])]
    benchmark.pedantic(subprocess.run, args=(cmd,), kwargs={"check": True, "capture_output": True}, rounds=2)
    _record("reference_cli_cold", benchmark)


def test_frd_cli_cold(benchmark, sets, tmp_path):
    caches = iter(range(100))

    def run():
        cache = tmp_path / f"c{next(caches)}"
        subprocess.run([_bin("frd"), *map(str, sets), "-q", "--cache-dir", str(cache)], check=True, capture_output=True)

    benchmark.pedantic(run, rounds=2)
    _record("frd_cli_cold", benchmark)


def test_frd_cli_warm(benchmark, sets, tmp_path):
    cache = tmp_path / "warm"
    cmd = [_bin("frd"), *map(str, sets), "-q", "--cache-dir", str(cache)]
    subprocess.run(cmd, check=True, capture_output=True)
    benchmark.pedantic(subprocess.run, args=(cmd,), kwargs={"check": True, "capture_output": True}, rounds=5)
    _record("frd_cli_warm", benchmark)


def test_frd_api_cold(benchmark, sets, tmp_path):
    caches = iter(range(100))

    def run():
        cache = tmp_path / f"c{next(caches)}"
        frd.compute_frd(*sets, cache_dir=cache)
        shutil.rmtree(cache)

    benchmark.pedantic(run, rounds=2)
    _record("frd_api_cold", benchmark)


def test_frd_api_warm(benchmark, sets, tmp_path):
    cache = tmp_path / "warm"
    frd.compute_frd(*sets, cache_dir=cache)
    benchmark.pedantic(frd.compute_frd, args=sets, kwargs={"cache_dir": cache}, rounds=10, warmup_rounds=1)
    _record("frd_api_warm", benchmark)


def test_exact_arithmetic_overhead(benchmark, sets, tmp_path):
    import copy
    import statistics
    import time

    s = frd.resolve_settings("v1")
    a, b = frd.compute_stats(list(sets), s, cache_dir=tmp_path / "c")
    assert frd.frd_from_stats(a, b, s).arithmetic == "reference"
    sa, sb = copy.copy(a), copy.copy(b)
    sa.rows = sb.rows = None
    assert frd.frd_from_stats(sa, sb, s).arithmetic == "float64-sums"
    benchmark.pedantic(frd.frd_from_stats, args=(a, b, s), rounds=5, warmup_rounds=1)
    RESULTS["statistics_exact_s"] = benchmark.stats.stats.median
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        frd.frd_from_stats(sa, sb, s)
        times.append(time.perf_counter() - t0)
    RESULTS["statistics_float64_sums_s"] = statistics.median(times)


def _report() -> None:
    r = RESULTS
    ratios = {}
    if {"statistics_exact_s", "statistics_float64_sums_s", "frd_api_cold"} <= set(r):
        ratios["exact_extra_vs_cold_api"] = (r["statistics_exact_s"] - r["statistics_float64_sums_s"]) / r[
            "frd_api_cold"
        ]
    if "reference_cli_cold" in r and "frd_cli_cold" in r:
        ratios["cold_cli_vs_reference_cli"] = r["frd_cli_cold"] / r["reference_cli_cold"]
    if "frd_api_cold" in r and "frd_api_warm" in r:
        ratios["warm_vs_cold_api"] = r["frd_api_warm"] / r["frd_api_cold"]
    if "frd_cli_cold" in r and "frd_cli_warm" in r:
        ratios["warm_vs_cold_cli"] = r["frd_cli_warm"] / r["frd_cli_cold"]
    report = {
        "images": f"2x{N} PNG {SIZE}x{SIZE}",
        "preset": "v1",
        "median_s": r,
        "ratios": ratios,
        "versions": frd.versions(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print("\n" + json.dumps(report["ratios"], indent=2))


def test_bootstrap_1000_resamples_of_2x200(benchmark):
    """Issue target: 1000 resamples of 2 x 200 images (393 v1 features) in seconds, not a re-run."""
    import numpy as np

    from frd.uncertainty import bootstrap

    rng = np.random.default_rng(0)
    ya, yb = rng.normal(size=(200, 393)), rng.normal(0.1, 1.1, size=(200, 393))
    benchmark.pedantic(bootstrap, args=(ya, yb, 1000), kwargs={"seed": 1}, rounds=1)
    RESULTS["bootstrap_1000x2x200_s"] = benchmark.stats.stats.median
