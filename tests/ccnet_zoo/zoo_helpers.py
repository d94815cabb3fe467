"""Helpers of the models/train/sample tests (importable as ``zoo_helpers``)."""

from __future__ import annotations

from typing import Any


def tiny32(**train: Any) -> dict[str, Any]:
    """The ``tiny`` config at 32 px, 1 epoch per stage, batch 4 (``train`` overrides merge per stage)."""
    from ccnet_zoo.models.config import deep_merge, load_config

    base = {"image_size": 32, "train": {s: {"epochs": 1, "batch_size": 4} for s in ("ae", "ldm", "controlnet")},
            "sample": {"steps": 4, "batch_size": 8}}  # fmt: skip
    return deep_merge(load_config("tiny", base), {"train": train})


def read_csv(path: Any) -> list[dict[str, str]]:
    """Rows of a comma-separated file (``losses.csv``)."""
    import csv

    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
