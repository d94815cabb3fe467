"""A torchmetrics ``Metric`` around FRD, for training loops (needs torch and torchmetrics).

>>> from frd.metric_torch import FRDMetric  # doctest: +SKIP
>>> metric = FRDMetric(preset="v0", data_range=(-1, 1), reset_real_features=False)  # doctest: +SKIP
>>> metric.update(real_batch, real=True); metric.update(fake_batch, real=False)  # doctest: +SKIP
>>> metric.compute()  # doctest: +SKIP

Per-image feature rows are the metric's states (``cat`` reduction), so DDP processes are synced by
torchmetrics and ``compute()`` equals the FRD of all images seen by all processes. Image batches
are (N, H, W), (N, 1, H, W), (N, 3, H, W) (luminance, Rec. 709 as ``frd`` reads RGB) or
(N, 1, D, H, W). ``data_range=(lo, hi)`` maps them to the 8-bit grid their PNGs would hold (see
:mod:`frd.arrays`); float batches without it are used as they are, with one warning.

``reset_real_features=False`` (as in torchmetrics' FID) keeps the real set's features across
``reset()``: the real set is extracted once, and real batches seen before are not extracted or
counted again, so a validation loop may feed the same real images every epoch.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from ._extras import MissingExtraError

try:
    import torch
    from torchmetrics import Metric
except ImportError as err:  # one line naming the extra instead of a bare ModuleNotFoundError
    raise MissingExtraError("frd.metric_torch", "torch", missing=err.name) from err

from .api import frd_from_stats
from .arrays import as_array_images, check_data_range, float_warning
from .errors import SettingsError
from .options import Analysis, resolve_options
from .settings import Settings
from .stats import FeatureStats
from .streaming import extract_arrays

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+: only type checkers read this block, 3.10 never runs it

    from .options import Options

log = logging.getLogger(__name__)


def _batch_hash(images: torch.Tensor) -> str:
    x = images.detach().cpu().contiguous()
    h = hashlib.sha256(f"{x.dtype}{tuple(x.shape)}".encode())
    h.update(x.view(torch.uint8).numpy().tobytes() if x.numel() else b"")
    return h.hexdigest()


class FRDMetric(Metric):
    """Fréchet Radiomics Distance of the ``real=False`` images against the ``real=True`` ones."""

    full_state_update = False
    higher_is_better = False
    is_differentiable = False

    def __init__(
        self,
        preset: str | Settings = "v1",
        workers: int = 1,
        *,
        data_range: tuple[float, float] | None = None,
        reset_real_features: bool = True,
        analysis: Analysis | None = None,
        **options: Unpack[Options],
    ) -> None:
        super().__init__()
        self.settings, self._analysis = resolve_options(preset, options, analysis)
        self.workers = workers
        self.data_range = check_data_range(data_range)
        self.reset_real_features = reset_real_features
        self._names: list[str] | None = None
        self._warned_float = False
        #: Hashes of the real batches whose features are held (only used with reset_real_features=False).
        self._real_seen: set[str] = set()
        self.add_state("real_features", default=[], dist_reduce_fx="cat")
        self.add_state("fake_features", default=[], dist_reduce_fx="cat")

    def update(self, images: torch.Tensor, real: bool) -> None:  # type: ignore[override]
        key = None
        if real and not self.reset_real_features:
            key = _batch_hash(images)
            if key in self._real_seen:
                return  # this real batch is held already: not extracted, not counted twice
        batch = as_array_images(images, self.data_range, label="batch")
        note = float_warning([batch.float_range])
        if note and not self._warned_float:  # once per metric, not once per batch
            log.warning(note)
            self._warned_float = True
        table = extract_arrays(batch, self.settings, workers=self.workers)
        if self._names is None:
            self._names = table.names
        feats = torch.from_numpy(np.ascontiguousarray(table.values))
        (self.real_features if real else self.fake_features).append(feats)
        if key is not None:
            self._real_seen.add(key)

    def reset(self) -> None:
        """Forget the synthetic images, and the real ones unless ``reset_real_features=False``."""
        if self.reset_real_features:
            super().reset()
            self._real_seen.clear()
            return
        kept = list(self.real_features)  # the base reset clears list states in place
        super().reset()
        self.real_features = kept

    def compute(self) -> torch.Tensor:
        def rows(state: Any) -> np.ndarray:
            t = torch.cat(state) if isinstance(state, list) else state
            return t.to(torch.float64).cpu().numpy()

        if self._names is None or not len(self.real_features) or not len(self.fake_features):
            raise SettingsError("update() with real=True and real=False images before compute()")
        a = FeatureStats.from_features(rows(self.real_features), self._names, self.settings)
        b = FeatureStats.from_features(rows(self.fake_features), self._names, self.settings)
        return torch.tensor(frd_from_stats(a, b, self.settings, analysis=self._analysis).frd, dtype=torch.float64)
