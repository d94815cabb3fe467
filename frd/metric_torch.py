"""A torchmetrics ``Metric`` around FRD, for training loops (needs torch and torchmetrics).

>>> from frd.metric_torch import FRDMetric  # doctest: +SKIP
>>> metric = FRDMetric(preset="v0")  # doctest: +SKIP
>>> metric.update(real_batch, real=True); metric.update(fake_batch, real=False)  # doctest: +SKIP
>>> metric.compute()  # doctest: +SKIP

Per-image feature rows are the metric's states (``cat`` reduction), so DDP processes are synced by
torchmetrics and ``compute()`` equals the FRD of all images seen by all processes. Image batches
are (N, H, W), (N, 1, H, W), (N, 3, H, W) (luminance, Rec. 709 as ``frd`` reads RGB) or
(N, 1, D, H, W); intensities are used as given (rescale [-1, 1] model outputs to your data's range).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._extras import MissingExtraError

try:
    import torch
    from torchmetrics import Metric
except ImportError as err:  # one line naming the extra instead of a bare ModuleNotFoundError
    raise MissingExtraError("frd.metric_torch", "torch", missing=err.name) from err

from .api import _split_options, frd_from_stats
from .errors import SettingsError
from .io import LUMA_709
from .settings import resolve_settings
from .stats import FeatureStats
from .streaming import extract_arrays


def _to_numpy(images: torch.Tensor) -> np.ndarray:
    x = images.detach().to("cpu", torch.float64).numpy()
    if x.ndim == 4 and x.shape[1] == 3:
        return x[:, 0] * LUMA_709[0] + x[:, 1] * LUMA_709[1] + x[:, 2] * LUMA_709[2]
    if x.ndim in (4, 5) and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 3:
        return x
    raise SettingsError(f"expected (N,H,W), (N,1|3,H,W) or (N,1,D,H,W) images, got shape {tuple(x.shape)}")


class FRDMetric(Metric):
    """Fréchet Radiomics Distance of the ``real=False`` images against the ``real=True`` ones."""

    full_state_update = False
    higher_is_better = False
    is_differentiable = False

    def __init__(self, preset: str = "v1", workers: int = 1, **options: Any) -> None:
        super().__init__()
        overrides, self._analysis = _split_options(options)
        self.settings = resolve_settings(preset, **overrides)
        self.workers = workers
        self._names: list[str] | None = None
        self.add_state("real_features", default=[], dist_reduce_fx="cat")
        self.add_state("fake_features", default=[], dist_reduce_fx="cat")

    def update(self, images: torch.Tensor, real: bool) -> None:  # type: ignore[override]
        table = extract_arrays(_to_numpy(images), self.settings, workers=self.workers)
        if self._names is None:
            self._names = table.names
        feats = torch.from_numpy(np.ascontiguousarray(table.values))
        (self.real_features if real else self.fake_features).append(feats)

    def compute(self) -> torch.Tensor:
        def rows(state: Any) -> np.ndarray:
            t = torch.cat(state) if isinstance(state, list) else state
            return t.to(torch.float64).cpu().numpy()

        if self._names is None or not self.real_features or not self.fake_features:
            raise SettingsError("update() with real=True and real=False images before compute()")
        a = FeatureStats.from_features(rows(self.real_features), self._names, self.settings)
        b = FeatureStats.from_features(rows(self.fake_features), self._names, self.settings)
        return torch.tensor(frd_from_stats(a, b, self.settings, **self._analysis).frd, dtype=torch.float64)
