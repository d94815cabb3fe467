"""Batched generation over a datalist split into per-phase folders of uint8 PNGs.

Output: ``<out>/p<k>/<pid>_000<k>_slice<i>.png`` (the name of the real phase-k image, so real and synthetic
pair by name; same orientation as the real PNGs) and ``<out>/generated.tsv`` (one row per image: the
datalist row plus ``generated``). Like the datalists, ``generated.tsv`` holds paths relative to its own folder
(the output moves as a whole); :func:`read_manifest` makes them absolute. A patient ID that is not a plain
file-name part (separators, ``..``) is refused, so every file lands inside ``out``.
"""

from __future__ import annotations

import csv
import logging
import os
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
PATH_COLUMNS = ("source", "target", "segmentation_mask", "generated")


def safe_part(value: str, what: str) -> str:
    """``value`` if it can be part of a file name inside a folder (no separator, not ``.``/``..``), else ModelError."""
    if not value or value in (".", "..") or any(c in value for c in ("/", "\\", "\0")) or ":" in value:
        raise ModelError(f"{what} {value!r} cannot be part of a file name (separators, '..' and ':' are refused)")
    return value


def output_path(out: Path, row: dict[str, Any]) -> Path:
    """``out/p<k>/<real name>.png`` for a datalist row, checked to lie inside ``out``."""
    phase = int(row["phase"])
    name = image_name(safe_part(str(row["patient_id"]), "patient_id"), phase, int(row["slice"]))
    path = out / f"p{phase}" / name
    if not path.resolve().is_relative_to(out.resolve()):
        raise ModelError(f"{name} would be written outside {out}")
    return path


@dataclass
class GenerateResult:
    """What :func:`generate_split` wrote."""

    out: Path
    n_images: int
    seconds: float
    manifest: Path


def _write_manifest(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    base = path.parent.resolve()
    rel = [{**r, **{k: os.path.relpath(Path(r[k]).resolve(), base) for k in PATH_COLUMNS if r.get(k)}} for r in rows]

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter="\t", extrasaction="ignore")
            w.writeheader()
            w.writerows(rel)

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
    targets = [output_path(out, r) for r in rows]  # every name checked before any work
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
        for i, r, img in zip(idx, batch, to_uint8(images), strict=True):
            path = targets[i]
            write_png(path, img)
            done.append({**r, "generated": str(path)})
    _write_manifest(out / MANIFEST, done)
    seconds = time.perf_counter() - t0
    log.info("generated %d images in %.1f s -> %s", len(done), seconds, out)
    return GenerateResult(out, len(done), seconds, out / MANIFEST)


def read_manifest(path: str | Path) -> list[dict[str, str]]:
    """Rows of a ``generated.tsv``, with its paths made absolute (they are stored relative to its folder)."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST
    if not p.is_file():
        raise ModelError(f"{p} does not exist; run 'ccnet-zoo generate' first")
    base = p.resolve().parent
    with open(p, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for r in rows:
        for k in PATH_COLUMNS:
            if r.get(k):
                r[k] = str(base / r[k])  # an absolute path (older files) stays as it is
    return rows
