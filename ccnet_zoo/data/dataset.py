"""A torch Dataset of (pre-contrast, post-contrast phase k) pairs with CC-Net's paired augmentations.

Loading follows CC-Net's loader: PNG -> bicubic resize to ``image_size`` -> 0..255 mapped to [-1, 1] (clipped).
Training augmentations (``augment=True``), each drawn once per item and applied to source, target and mask
alike: left-right flip (p 0.1), affine with translation +-2 px and scale 1 +- 0.01 (p 0.1, reflection
padding), intensity shift +-0.05 (p 0.1), contrast gamma 0.97-1.03 (p 0.1), clamp to [-1, 1].
Random numbers come from ``numpy.random.default_rng([seed, epoch, index])``: the same item, seed and epoch
always give the same result, in any worker and any order. CC-Net reads PNGs transposed (MONAI's PIL
reader) and flips along that first axis; here images keep their orientation and the flip is left-right,
which is the same flip in anatomical terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ccnet_zoo.data.datalist import read_datalist
from ccnet_zoo.data.errors import DataError
from ccnet_zoo.data.layout import read_png

AUG_PROB = 0.1
TRANSLATE_PX = 2.0
SCALE_RANGE = 0.01
SHIFT_RANGE = 0.05
GAMMA_RANGE = (0.97, 1.03)


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """PNG -> (1, size, size) float tensor in [-1, 1] (bicubic resize, then clip)."""
    try:
        arr = read_png(Path(path)).astype(np.float32)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read image {path}: {err}") from err
    x = torch.from_numpy(arr)[None, None]
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)
    return (x[0] / 127.5 - 1.0).clamp(-1.0, 1.0)


def load_mask(path: str | Path | None, size: int) -> torch.Tensor:
    """Mask PNG -> (1, size, size) float {0, 1} (nearest); zeros when there is no mask."""
    if not path:
        return torch.zeros(1, size, size)
    arr = read_png(Path(path)) > 127
    x = torch.from_numpy(arr.astype(np.float32))[None, None]
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="nearest")
    return x[0]


def paired_augment(images: list[torch.Tensor], rng: np.random.Generator, n_intensity: int) -> list[torch.Tensor]:
    """Apply one random draw of CC-Net's augmentations to every tensor of ``images`` (each (1, H, W)).

    The first ``n_intensity`` tensors are images (intensity changes apply); the rest are masks (nearest).
    """
    draws = rng.uniform(size=4)
    out = list(images)
    if draws[0] < AUG_PROB:
        out = [t.flip(-1) for t in out]
    if draws[1] < AUG_PROB:
        h, w = out[0].shape[-2:]
        tx, ty = rng.uniform(-TRANSLATE_PX, TRANSLATE_PX, 2)
        sx, sy = 1.0 + rng.uniform(-SCALE_RANGE, SCALE_RANGE, 2)
        theta = torch.tensor([[1.0 / sx, 0.0, -2.0 * tx / w], [0.0, 1.0 / sy, -2.0 * ty / h]], dtype=torch.float32)
        grid = F.affine_grid(theta[None], [1, 1, h, w], align_corners=False)
        out = [
            F.grid_sample(
                t[None],
                grid,
                mode="bilinear" if i < n_intensity else "nearest",
                padding_mode="reflection",
                align_corners=False,
            )[0]
            for i, t in enumerate(out)
        ]
    if draws[2] < AUG_PROB:
        offset = float(rng.uniform(-SHIFT_RANGE, SHIFT_RANGE))
        out = [t + offset if i < n_intensity else t for i, t in enumerate(out)]
    if draws[3] < AUG_PROB:
        gamma = float(rng.uniform(*GAMMA_RANGE))
        for i in range(n_intensity):
            t = out[i]
            lo, rng_ = t.min(), (t.max() - t.min()).clamp_min(1e-7)
            out[i] = ((t - lo) / rng_) ** gamma * rng_ + lo
    return [t.clamp(-1.0, 1.0) if i < n_intensity else t for i, t in enumerate(out)]


class PairedDCEDataset(Dataset):
    """Items: ``source``, ``target``, ``mask`` (1, S, S) tensors; ``acquisition_time`` (1,) float32 seconds;
    ``report``, ``patient_id``, ``source_path``, ``target_path`` strings; ``phase``, ``slice`` ints;
    ``augmented``: whether an augmentation changed this item (if not, ``target`` is the image as loaded)."""

    def __init__(
        self,
        datalist: str | Path | Sequence[dict[str, object]],
        image_size: int = 224,
        augment: bool = False,
        seed: int = 0,
        preload: bool = False,
    ) -> None:
        self.rows = read_datalist(Path(datalist)) if isinstance(datalist, (str, Path)) else list(datalist)
        if image_size < 8:
            raise DataError(f"image_size must be >= 8, got {image_size}")
        self.image_size = image_size
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        # decoded + resized images, filled once (PNG decoding and resizing otherwise repeat every epoch)
        self.cache: dict[tuple[str, str], torch.Tensor] | None = {} if preload else None
        if preload:
            for row in self.rows:
                self._load(str(row["source"]), "image")
                self._load(str(row["target"]), "image")
                self._load(row.get("segmentation_mask") or None, "mask")  # type: ignore[arg-type]

    def image(self, path: str) -> torch.Tensor:
        """The (1, S, S) image of ``path`` as the items hold it before augmentation (preloaded when possible)."""
        return self._load(path, "image")

    def _load(self, path: str | None, kind: str) -> torch.Tensor:
        key = (kind, str(path or ""))
        if self.cache is not None and key in self.cache:
            return self.cache[key]
        x = load_image(str(path), self.image_size) if kind == "image" else load_mask(path, self.image_size)
        if self.cache is not None:
            self.cache[key] = x
        return x

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draw of ``epoch`` (call before each training epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, object]:
        row = self.rows[index]
        source = self._load(str(row["source"]), "image")
        target = self._load(str(row["target"]), "image")
        mask = self._load(row.get("segmentation_mask") or None, "mask")  # type: ignore[arg-type]
        augmented = False
        if self.augment:
            # the same first draws as paired_augment's: whether any augmentation applies to this item
            augmented = bool((np.random.default_rng([self.seed, self.epoch, index]).uniform(size=4) < AUG_PROB).any())
            rng = np.random.default_rng([self.seed, self.epoch, index])
            source, target, mask = paired_augment([source, target, mask], rng, n_intensity=2)
        return {
            "augmented": augmented,  # False: target is the decoded image as loaded (its latents may be cached)
            "source": source,
            "target": target,
            "mask": mask,
            "acquisition_time": torch.tensor([float(row["acquisition_time"])], dtype=torch.float32),  # type: ignore[arg-type]
            "report": str(row.get("report", "")),
            "patient_id": str(row.get("patient_id", "")),
            "phase": int(row.get("phase", 0) or 0),  # type: ignore[arg-type]
            "slice": int(row.get("slice", 0) or 0),  # type: ignore[arg-type]
            "source_path": str(row["source"]),
            "target_path": str(row["target"]),
        }
