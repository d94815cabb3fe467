"""Batched generation over a datalist split into per-phase folders of uint8 PNGs.

Output: ``<out>/p<k>/<pid>_000<k>_slice<i>.png`` (the name of the real phase-k image, so real and synthetic
pair by name; same orientation as the real PNGs) and ``<out>/generated.tsv`` (one row per image: the
datalist row plus ``generated``).
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ccnet_zoo.data.dataset import load_image
from ccnet_zoo.data.layout import image_name, write_png
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.pipeline.ccnet import CCNetPipeline, Guidance, to_uint8
from frd._files import replace_owned

log = logging.getLogger(__name__)
MANIFEST = "generated.tsv"
COLUMNS = (
    "patient_id",
    "slice",
    "phase",
    "acquisition_time",
    "source",
    "target",
    "segmentation_mask",
    "report",
    "generated",
)


@dataclass
class GenerateResult:
    """What :func:`generate_split` wrote."""

    out: Path
    n_images: int
    seconds: float
    manifest: Path


def _write_manifest(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter="\t", extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)

    replace_owned(path, write)


def generate_split(
    pipe: CCNetPipeline,
    rows: Sequence[dict[str, Any]],
    out: str | Path,
    *,
    batch_size: int = 16,
    steps: int | None = None,
    guidance: Guidance | None = None,
    conditioning_scale: float | None = None,
    seed: int = 42,
    overwrite: bool = False,
    progress: bool = True,
) -> GenerateResult:
    """Generate every row (pre-contrast source + acquisition time + report) in batches of ``batch_size``.

    ``steps``, ``guidance`` and ``conditioning_scale`` left at ``None`` come from the pipeline's config.
    """
    from tqdm import tqdm

    out = Path(out)
    if (out / MANIFEST).exists() and not overwrite:
        raise ModelError(f"{out} already holds generated images; pass --overwrite to replace them")
    if not rows:
        raise ModelError("no rows to generate (is the split empty?)")
    if batch_size < 1:
        raise ModelError(f"batch size must be >= 1, got {batch_size}")
    t0 = time.perf_counter()
    done: list[dict[str, Any]] = []
    order = list(range(len(rows)))
    for start in tqdm(range(0, len(order), batch_size), desc="generate", unit="batch", disable=not progress):
        idx = order[start : start + batch_size]
        batch = [rows[i] for i in idx]
        pre = torch.stack([load_image(str(r["source"]), pipe.image_size) for r in batch])
        acq = torch.tensor([[float(r["acquisition_time"])] for r in batch])
        prompts = [str(r.get("report", "")) for r in batch]
        images = pipe(
            pre,
            acq,
            prompts,
            steps=steps,
            guidance=guidance,
            conditioning_scale=conditioning_scale,
            seed=seed,
            keys=idx,
        )
        for r, img in zip(batch, to_uint8(images), strict=True):
            phase = int(r["phase"])
            path = out / f"p{phase}" / image_name(str(r["patient_id"]), phase, int(r["slice"]))
            write_png(path, img)
            done.append({**r, "generated": str(path)})
    _write_manifest(out / MANIFEST, done)
    seconds = time.perf_counter() - t0
    log.info("generated %d images in %.1f s -> %s", len(done), seconds, out)
    return GenerateResult(out, len(done), seconds, out / MANIFEST)


def read_manifest(path: str | Path) -> list[dict[str, str]]:
    """Rows of a ``generated.tsv``."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST
    if not p.is_file():
        raise ModelError(f"{p} does not exist; run 'ccnet-zoo generate' first")
    with open(p, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))
