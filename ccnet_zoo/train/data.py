"""Training data from ``--data``: a dataset root (phantom or Duke layout) or a folder of datalist tsv files.

The diffusion stages use :class:`ccnet_zoo.data.dataset.PairedDCEDataset` (pairs with CC-Net's paired
augmentations); stage 1 uses every distinct image (pre- and post-contrast) of the pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ccnet_zoo.data.datalist import build_datalist, read_datalist
from ccnet_zoo.data.dataset import load_image
from ccnet_zoo.data.errors import DataError
from ccnet_zoo.data.layout import METADATA_FILE, SPLITS
from ccnet_zoo.models.errors import ModelError

Rows = list[dict[str, object]]


def which_text(source: str | int) -> int | None:
    """``text.source`` -> ``build_datalist``'s ``which_text`` (``default`` -> None)."""
    return None if str(source) == "default" else int(source)


def load_rows(data: str | Path, source: str | int = "default") -> dict[str, Rows]:
    """Datalist rows per split: built from a dataset root, or read from ``<data>/<split>.tsv`` files."""
    root = Path(data)
    try:
        if (root / METADATA_FILE).is_file():
            return {k: list(v) for k, v in build_datalist(root, which_text(source)).items()}  # type: ignore[misc]
        if (root / "train.tsv").is_file():
            return {s: read_datalist(root / f"{s}.tsv") if (root / f"{s}.tsv").is_file() else [] for s in SPLITS}
    except DataError as err:
        raise ModelError(str(err)) from err
    raise ModelError(
        f"{root} is neither a dataset (no {METADATA_FILE}) nor a folder of datalists (no train.tsv); "
        "make one with 'ccnet-zoo phantom' or 'ccnet-zoo prepare-duke'"
    )


def prompts_of(rows: Sequence[Mapping[str, object]]) -> list[str]:
    """Distinct prompts of the rows (sorted)."""
    return sorted({str(r.get("report", "")) for r in rows})


class ImageDataset(Dataset):
    """Every distinct source/target image of the rows: items ``{"image": (1, S, S)}`` in [-1, 1]."""

    def __init__(self, rows: Sequence[Mapping[str, object]], image_size: int, preload: bool = False) -> None:
        paths = {str(r[k]) for r in rows for k in ("source", "target")}
        self.paths = sorted(paths)
        self.image_size = int(image_size)
        self.images: list[torch.Tensor] | None = None
        if preload:  # decoded once instead of once per epoch
            self.images = [self._read(i) for i in range(len(self.paths))]

    def __len__(self) -> int:
        return len(self.paths)

    def _read(self, index: int) -> torch.Tensor:
        try:
            return load_image(self.paths[index], self.image_size)
        except DataError as err:
            raise ModelError(str(err)) from err

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"image": self.images[index] if self.images is not None else self._read(index)}


#: preload the decoded training images when they take at most this much memory (float32 at the model size)
PRELOAD_BYTES = 2 << 30


def preload_wanted(option: bool | None, n_images: int, image_size: int) -> bool:
    """``train.<stage>.preload``: default on when the decoded images fit in ``PRELOAD_BYTES``."""
    if option is not None:
        return bool(option)
    return n_images * image_size * image_size * 4 <= PRELOAD_BYTES
