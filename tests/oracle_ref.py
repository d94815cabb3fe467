"""frd-score 1.0.1 as an oracle: on image folders, or on feature rows through its own post-processing.

``reference_from_rows`` hands frd-score's ``calculate_feature_statistics`` the given rows in place
of its extraction (``compute_features`` is swapped for the duration of the call), so everything
after extraction (row drops, float32 cast, normalization, column drops, mean/cov, sqrtm, log) is
the reference's own code. Both sides run with one BLAS thread: scipy's sqrtm of a singular product
changes in the 10th digit with the thread count. The reference also runs with one ITK thread (frd's
extraction does): with more, v1's number on 3D images changes from run to run by up to ~1e-5,
because ITK's threaded filters leave varying round-off in round-off columns that v1 z-scores.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

# One ITK thread here and in the processes frd-score forks from here (they inherit it), as frd extracts.
from frd.extract import one_itk_thread

CCNET_CLASSES = ["firstorder", "glcm", "glrlm", "gldm", "glszm", "ngtdm"]
REFERENCE_KWARGS = {
    "v1": {},
    "v0": {"frd_version": "v0"},
    "ccnet": {"frd_version": "v0", "features": CCNET_CLASSES, "norm_ref": "independent", "resize_size": 224},
}


def reference_from_folders(a: Path, b: Path, preset: str, masks: tuple[Path, Path] | None = None) -> float:
    from frd_score import frd as frd_score

    kwargs = dict(REFERENCE_KWARGS[preset])
    if masks is not None:
        kwargs["paths_masks"] = [str(m) for m in masks]
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"), one_itk_thread():
        warnings.simplefilter("ignore")
        return float(frd_score.compute_frd([str(a), str(b)], num_workers=2, **kwargs))


def reference_from_rows(xa: np.ndarray, xb: np.ndarray, names: list[str], preset: str) -> float:
    """frd-score 1.0.1's number for these raw feature rows (set A first)."""
    from frd_score import frd as F

    version = "v0" if preset in ("v0", "ccnet") else "v1"
    norm_ref = "independent" if preset == "ccnet" else None
    norm_type, norm_range, _, _, norm_ref = F._resolve_defaults(version, None, None, None, None, norm_ref=norm_ref)
    rows = iter([np.asarray(xa, np.float64), np.asarray(xb, np.float64)])

    def fake_compute_features(**_kwargs):
        return next(rows), [dict.fromkeys(names, 0.0)], [None]

    original = F.compute_features
    F.compute_features = fake_compute_features
    try:
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore")
            mu, sigma, _, _ = F.calculate_feature_statistics(
                [["a"], ["b"]], norm_type, norm_range, None, norm_ref=norm_ref, frd_version=version
            )
            d2 = F.calculate_frechet_distance(mu[0], sigma[0], mu[1], sigma[1])
    finally:
        F.compute_features = original
    if version == "v1":
        return float(np.log(d2)) if d2 > 0 else float("-inf")
    return float(d2)


def rel_diff(ours: float, ref: float) -> float:
    if ours == ref:
        return 0.0
    return abs(ours - ref) / max(abs(ref), 1e-300)
