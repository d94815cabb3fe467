"""Streaming FRD: feed images or features in batches, from one process or many, and merge.

>>> import numpy as np, frd
>>> metric = frd.FRD(preset="v0")
>>> rng = np.random.default_rng(0)
>>> metric.update(rng.integers(0, 255, (4, 32, 32)).astype(np.uint8), real=True)  # doctest: +SKIP
>>> metric.update(rng.integers(0, 255, (4, 32, 32)).astype(np.uint8), real=False)  # doctest: +SKIP
>>> metric.compute().frd  # doctest: +SKIP

Float images follow the ``data_range`` contract of :mod:`frd.arrays`: ``FRD("v0", data_range=(-1, 1))``
scores a model's [-1, 1] output as the 8-bit PNGs it would be saved as.

Only float64 sufficient statistics are kept (no images, no per-image rows unless
``keep_rows=True``), so memory does not grow with the stream, and the result does not depend on
how the data were split into batches or processes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .api import FRDResult, frd_from_stats
from .arrays import ArrayImages, as_array_images, check_data_range, float_warning, is_array_input
from .cache import FeatureCache
from .defaults import default_workers
from .errors import FRDError, SettingsError
from .extract import ExtractionJob, FeatureTable, extract_sets
from .io import discover
from .options import Analysis, resolve_options
from .settings import Settings
from .stats import FeatureStats

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+: only type checkers read this block, 3.10 never runs it

    from .options import Options

log = logging.getLogger(__name__)


def extract_arrays(
    images: Any,
    settings: Settings,
    *,
    workers: int = 1,
    cache: FeatureCache | None = None,
    data_range: tuple[float, float] | None = None,
) -> FeatureTable:
    """Features of a batch of in-memory images (see :mod:`frd.arrays` for shapes and ``data_range``)."""
    if not isinstance(images, ArrayImages):
        images = as_array_images(images, check_data_range(data_range), label="batch")
    table = extract_sets([ExtractionJob(images.refs)], settings, workers=workers, cache=cache)[0]
    if table.n == 0:
        raise FRDError("no usable image in this batch")
    return table


class FRD:
    """Accumulates the statistics of a real and a synthetic set; ``compute()`` gives the FRD."""

    def __init__(
        self,
        preset: str | Settings = "v1",
        *,
        workers: int | None = 1,
        cache: bool = False,
        cache_dir: str | Path | None = None,
        keep_rows: bool = False,
        data_range: tuple[float, float] | None = None,
        analysis: Analysis | None = None,
        **options: Unpack[Options],
    ) -> None:
        self.settings, self._analysis = resolve_options(preset, options, analysis)
        #: Intensities of in-memory images that map to 0 and 255 (see :mod:`frd.arrays`).
        self.data_range = check_data_range(data_range)
        self._warned_float = False
        self.workers = workers or default_workers()
        self.cache = FeatureCache(cache_dir, enabled=cache)
        self.keep_rows = keep_rows
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        self._stats: dict[bool, FeatureStats | None] = {True: None, False: None}

    def _to_stats(self, data: Any) -> FeatureStats:
        if isinstance(data, FeatureStats):
            if data.stats_hash != self.settings.stats_hash:
                raise SettingsError("statistics from other settings than this FRD's")
            return data
        if isinstance(data, FeatureTable):
            return FeatureStats.from_features(
                data.values, data.names, self.settings, paths=data.paths, hashes=data.hashes, dim=data.dim
            )
        if isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype.kind == "f" and self._names() is not None:
            names = self._names()
            if data.shape[1] != len(names):
                raise SettingsError(f"feature rows must have {len(names)} columns, got {data.shape[1]}")
            return FeatureStats.from_features(data, names, self.settings)
        if isinstance(data, np.ndarray) and data.ndim == 2:
            raise SettingsError(
                "arrays are batches of images, (N, H, W) or (N, D, H, W); feature rows (N, p) are accepted "
                "once the feature names are known from an earlier update"
            )
        if is_array_input(data):
            images = as_array_images(data, self.data_range, label="batch")
            note = float_warning([images.float_range])
            if note and not self._warned_float:  # once per metric, not once per batch
                log.warning(note)
                self._warned_float = True
            table = extract_arrays(images, self.settings, workers=self.workers, cache=self.cache)
            return FeatureStats.from_features(
                table.values, table.names, self.settings, paths=table.paths, dim=table.dim
            )
        if self.data_range is not None:
            raise SettingsError("data_range applies to arrays and tensors; files are read as stored")
        if isinstance(data, (str, Path)) or (isinstance(data, Sequence) and not isinstance(data, np.ndarray)):
            refs = discover(data)  # type: ignore[arg-type]
        else:
            raise SettingsError(f"cannot update from {type(data).__name__}; pass images, a folder or features")
        table = extract_sets([ExtractionJob(refs)], self.settings, workers=self.workers, cache=self.cache)[0]
        if table.n == 0:
            raise FRDError("no usable image in this batch")
        return FeatureStats.from_features(
            table.values, table.names, self.settings, paths=table.paths, hashes=table.hashes, dim=table.dim
        )

    def _names(self) -> list[str] | None:
        for s in self._stats.values():
            if s is not None:
                return s.names
        return None

    def update(self, images_or_features: Any, real: bool) -> None:
        """Add a batch: a folder, a list of files, an (N, H, W)/(N, D, H, W) array of images,
        feature rows (N, p), a :class:`FeatureTable` or :class:`FeatureStats`."""
        new = self._to_stats(images_or_features)
        if not self.keep_rows:
            new.rows, new.row_paths, new.row_hashes = None, [], []
        old = self._stats[bool(real)]
        self._stats[bool(real)] = new if old is None else old.merge(new)

    def merge(self, other: FRD) -> FRD:
        """Add everything ``other`` has seen (for example from another process) to this one."""
        if other.settings.stats_hash != self.settings.stats_hash:
            raise SettingsError("cannot merge FRD objects with different settings")
        for real in (True, False):
            theirs = other._stats[real]
            if theirs is not None:
                mine = self._stats[real]
                self._stats[real] = theirs if mine is None else mine.merge(theirs)
        return self

    @property
    def n(self) -> tuple[int, int]:
        """Images seen: (real, synthetic)."""
        return tuple(0 if s is None else s.n for s in (self._stats[True], self._stats[False]))  # type: ignore[return-value]

    def compute(self) -> FRDResult:
        """FRD of the synthetic set against the real set (the real set is the reference, set A)."""
        real, fake = self._stats[True], self._stats[False]
        if real is None or fake is None:
            raise FRDError("update() both the real and the synthetic set before compute()")
        return frd_from_stats(real, fake, self.settings, analysis=self._analysis)
