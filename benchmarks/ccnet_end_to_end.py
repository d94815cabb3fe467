"""Acceptance run of issue 4: phantom -> train ae, ldm, controlnet (tiny config) -> generate -> measure.

Runs the ``train`` and ``generate`` commands in-process on one CPU thread, times the whole chain and
measures lesion enhancement per phase inside the phantom's lesion masks (generated vs real vs the
pre-contrast input). Writes ``<out>/acceptance.json``; exits 1 when the generated lesion intensity does not
grow with acquisition time or the chain takes longer than the budget.

    python benchmarks/ccnet_end_to_end.py --out build/ccnet-e2e
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

PHANTOM = {"patients": 24, "slices": 4, "size": 64, "seed": 11}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/ccnet-e2e"))
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--budget-s", type=float, default=600.0)
    args = parser.parse_args(argv)

    import torch

    from ccnet_zoo.cli.generate import generate
    from ccnet_zoo.cli.train import train
    from ccnet_zoo.data.phantom.generator import PhantomConfig, generate_phantom

    torch.set_num_threads(1)
    out = args.out
    data = out / "phantom"
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    generate_phantom(data, PhantomConfig(**PHANTOM), overwrite=True, progress=False)
    timings["phantom"] = time.perf_counter() - t0
    common = ["--config", args.config, "--data", str(data), "--overwrite", "--quiet"]
    from ccnet_zoo.models.config import load_config

    residual = load_config(args.config, typed=True).ldm.target == "residual"
    mean = ["--mean", str(out / "mean")] if residual else []
    stages = [
        ("ae", []),
        *([("mean", [])] if residual else []),
        ("ldm", ["--ae", str(out / "ae"), *mean]),
        ("controlnet", ["--ae", str(out / "ae"), "--ldm", str(out / "ldm"), *mean]),
    ]
    for stage, extra in stages:
        t = time.perf_counter()
        train.main([stage, *common, "--out", str(out / stage), *extra], standalone_mode=False)
        timings[stage] = time.perf_counter() - t
    t = time.perf_counter()
    generate.main(
        [
            "--controlnet",
            str(out / "controlnet"),
            "--data",
            str(data),
            "--out",
            str(out / "generated"),
            "--split",
            "validation",
            "--split",
            "test",
            "--measure",
            "--overwrite",
            "--quiet",
        ],
        standalone_mode=False,
    )
    timings["generate"] = time.perf_counter() - t
    total = time.perf_counter() - t0
    report = json.loads((out / "generated" / "enhancement.json").read_text())
    gen = report["phase_means"]["generated"]
    phases = sorted(gen, key=int)
    ok_trend = report["slope_mean"]["generated"] > 0 and gen[phases[-1]] > gen[phases[0]]
    ok_time = total < args.budget_s
    result = {
        "phantom": PHANTOM,
        "config": args.config,
        "seconds": {**timings, "total": total},
        "enhancement": report,
        "grows_with_time": ok_trend,
        "within_budget": ok_time,
    }
    (out / "acceptance.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["seconds"], indent=1))
    print(f"grows with time: {ok_trend}; within {args.budget_s:.0f} s: {ok_time}")
    return 0 if ok_trend and ok_time else 1


if __name__ == "__main__":
    sys.exit(main())
