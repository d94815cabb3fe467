"""Evaluation metrics of CC-Net: FRD (via ``frd``), FID, LPIPS and MSE on paired real/synthetic images.

>>> from ccnet_zoo.metrics import compute_metrics  # doctest: +SKIP
>>> report = compute_metrics("data/test/test_B", "gen/", phase=1)  # doctest: +SKIP
>>> report["lpips"].value, report["lpips"].std, report["lpips"].n  # doctest: +SKIP

The metrics themselves are listed in :mod:`ccnet_zoo.metrics.registry` (one file per metric).
See docs/evaluation.md for the resize policy and the ``paper_quirks`` mode. Importing this package does not
import torch; computing FID/LPIPS/MSE does.
"""

from ccnet_zoo.metrics.compute import METRICS, compute_metrics, compute_metrics_for_pairs
from ccnet_zoo.metrics.errors import MetricsError, PairingError
from ccnet_zoo.metrics.pairing import ImageKey, Pair, Pairing, pair_images, parse_name
from ccnet_zoo.metrics.registry import Metric, MetricContext
from ccnet_zoo.metrics.result import MetricResult, MetricsReport
from ccnet_zoo.metrics.table import comparison_table, format_cell, report_table

__all__ = [
    "METRICS",
    "ImageKey",
    "Metric",
    "MetricContext",
    "MetricResult",
    "MetricsError",
    "MetricsReport",
    "Pair",
    "Pairing",
    "PairingError",
    "comparison_table",
    "compute_metrics",
    "compute_metrics_for_pairs",
    "format_cell",
    "pair_images",
    "parse_name",
    "report_table",
]
