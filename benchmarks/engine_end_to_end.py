"""``frd A B`` cold, fast vs pyradiomics engine, one round each in the order fast, pyradiomics, fast.

Run: ``python benchmarks/engine_end_to_end.py N DIR`` (numba installed). Writes 2 x N generated
256² PNGs under DIR (the engine benchmark's generator and seeds) unless they are there, then runs
``frd DIR/a DIR/b -q --cache-dir <fresh> --engine E`` for each engine with every core (default
workers), printing wall seconds, the CPU seconds of the ``frd`` process and its workers (user + system, which a
shared machine distorts far less than wall time), the FRD and the load average, and writing DIR/result.json. One
round per engine (the pytest benchmark ``-k cli`` takes two) keeps large N affordable on a shared
machine; the fast engine runs before and after the slow one to bracket changes in load.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from datagen import write_png_set


def main(n: int, root: Path) -> dict[str, dict[str, object]]:
    if not (root / "b").exists():
        write_png_set(root / "a", n, seed=11, size=256)
        write_png_set(root / "b", n, seed=12, size=256, smooth=1.2, contrast=0.7)
    exe = str(Path(sys.executable).with_name("frd"))
    out: dict[str, dict[str, object]] = {}
    for k, engine in enumerate(["fast", "pyradiomics", "fast"]):
        cmd = [exe, str(root / "a"), str(root / "b"), "-q", "--cache-dir", str(root / f"cache{k}"), "--engine", engine]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Children's usage covers the frd process and its pool workers once they have been waited for.
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out[f"{k}_{engine}"] = {"wall_s": seconds, "cpu_s": cpu, "frd": run.stdout.strip(), "load": os.getloadavg()}
        print(engine, f"{seconds:.1f} s wall, {cpu:.1f} s CPU", run.stdout.strip(), os.getloadavg(), flush=True)
    (root / "result.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
