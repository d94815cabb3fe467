"""Compare our LPIPS (a registry weight source) with IQA-PyTorch's published LPIPS values.

IQA-PyTorch's ResultsCalibra/results_official.csv lists LPIPS (AlexNet, v0.1) of five TID2013-derived
distorted/reference pairs. Those images are not licensed for redistribution, so they are not in this repository:
point ``--calibra`` at a checkout's ``ResultsCalibra`` folder (``dist_dir/`` and ``ref_dir/``).

    python benchmarks/verify/lpips_iqa_pytorch.py --calibra ~/IQA-PyTorch/ResultsCalibra --weights lpips-alexnet-jax

RGB images are scaled to [-1, 1] (``x / 255 * 2 - 1``) at full resolution, as IQA-PyTorch does. Prints one line
per image and exits 1 when a value differs from the published one by more than ``--tol``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PUBLISHED = {"I03": 0.7237, "I04": 0.2572, "I06": 0.05079, "I08": 0.05205, "I19": 0.4253}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibra", type=Path, required=True, help="IQA-PyTorch's ResultsCalibra folder")
    ap.add_argument("--weights", default="lpips-alexnet-jax", help="registry name (lpips-alexnet or lpips-alexnet-jax)")
    ap.add_argument("--tol", type=float, default=5e-5, help="largest accepted |ours - published|")
    args = ap.parse_args()

    import cv2
    import numpy as np
    import torch

    from ccnet_zoo.metrics.lpips import load_lpips
    from ccnet_zoo.weights import Registry

    model = load_lpips(Registry.load().path(args.weights))

    def rgb(path: Path) -> torch.Tensor:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"cannot read {path}")
        return (
            torch.from_numpy(np.ascontiguousarray(img[:, :, ::-1], dtype=np.float32) / 255).permute(2, 0, 1)[None] * 2
            - 1
        )

    worst = 0.0
    for name, want in PUBLISHED.items():
        with torch.no_grad():
            got = float(
                model(rgb(args.calibra / "dist_dir" / f"{name}.bmp"), rgb(args.calibra / "ref_dir" / f"{name}.bmp"))
            )
        worst = max(worst, abs(got - want))
        print(f"{name}: ours {got:.6f}  published {want}  |diff| {abs(got - want):.1e}")
    print(f"largest |diff| {worst:.1e} (tolerance {args.tol:g}; the published values have 4 significant digits)")
    return 0 if worst <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
