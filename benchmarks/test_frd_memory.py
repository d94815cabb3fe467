"""Memory of ``frd A B``: bounded by what one worker holds at a time, not by the size of the sets (issue 14).

Run with ``pytest benchmarks/test_frd_memory.py``. Each case runs ``frd A B -q`` cold (fresh cache) from a small
wrapper process that reports the peak resident set of its descendants (``RUSAGE_CHILDREN``: the largest of the
``frd`` process and its pool workers), for a small and a large pair of sets of generated 256² PNGs. The ratio
large / small is the target (≤ 1.25): extraction streams images through the pool and what accumulates is one
feature row per image (n × p float64, 3 MB for 2 × 1000 images under v1), so the peak must not grow with n. The
numbers go to build/benchmarks/frd_memory.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datagen import write_png_set

OUT = Path(__file__).parents[1] / "build" / "benchmarks" / "frd_memory.json"
SMALL, LARGE = 16, 320
# The wrapper is what measures: the peak RSS of every process it waited for, in KiB on Linux.
WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _peak_kib(args: list[str]) -> int:
    run = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, check=True)
    return int(run.stdout.strip())


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("memory-bench")
    out = {}
    for n in (SMALL, LARGE):
        write_png_set(root / str(n) / "a", n, seed=11, size=256)
        write_png_set(root / str(n) / "b", n, seed=12, size=256, smooth=1.2, contrast=0.7)
        out[n] = root / str(n)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["fast"])
def test_peak_memory_does_not_grow_with_the_sets(benchmark, sets, engine, tmp_path) -> None:
    pytest.importorskip("numba")
    exe = str(Path(sys.executable).with_name("frd"))

    def both() -> dict[int, int]:
        out = {}
        for n, root in sets.items():
            cache = tmp_path / f"cache-{n}-{len(list(tmp_path.iterdir()))}"  # cold every round
            args = [exe, str(root / "a"), str(root / "b"), "-q", "--cache-dir", str(cache), "--engine", engine]
            out[n] = _peak_kib(args)
        return out

    # One round: the measurement is the peak, not the time (pytest-benchmark reports the time alongside).
    peaks = benchmark.pedantic(both, rounds=1, iterations=1)
    ratio = peaks[LARGE] / peaks[SMALL]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"engine": engine, "peak_kib": {str(k): v for k, v in peaks.items()}, "ratio": ratio}, indent=2),
        encoding="utf-8",
    )
    small, large = peaks[SMALL] / 1024, peaks[LARGE] / 1024
    print(f"\npeak RSS {engine}: {SMALL} per set {small:.0f} MiB, {LARGE} per set {large:.0f} MiB, ratio {ratio:.3f}")
    assert ratio <= 1.25
