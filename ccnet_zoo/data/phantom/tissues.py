"""Tissue properties (T1, proton density, extended-Tofts parameters) and the per-patient kinetics draw.

T1 values (ms, 1.5 T / 3 T): fat and fibroglandular tissue from Rakow-Penner et al. JMRI 23:87 (2006),
muscle from Stanisz et al. MRM 54:507 (2005), blood from Lu et al. MRM 52:679 (2004); skin, lung and lesion
are approximate. Tofts ranges are typical literature magnitudes; lesion ranges are chosen per curve type and
every draw is checked against the patient's actual phase times (rejection sampling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccnet_zoo.data.phantom.kinetics import (
    HEMATOCRIT,
    ToftsParams,
    classify_curve,
    extended_tofts,
    plasma_aif,
    r1_with_contrast,
    spgr_signal,
    time_grid,
)

T1_MS = {
    "fat": (296.0, 367.0),
    "fgt": (1266.0, 1445.0),
    "skin": (1050.0, 1300.0),
    "muscle": (1008.0, 1412.0),
    "blood": (1441.0, 1932.0),
    "lung": (1200.0, 1400.0),
    "lesion": (1300.0, 1600.0),
}
PROTON_DENSITY = {"fat": 1.0, "fgt": 0.85, "skin": 0.75, "muscle": 0.7, "blood": 0.95, "lung": 0.08, "lesion": 0.9}
# (Ktrans 1/min, ve, vp) uniform ranges of the non-lesion tissues
TOFTS_RANGES = {
    "fat": ((0.004, 0.012), (0.10, 0.20), (0.002, 0.005)),
    "skin": ((0.03, 0.06), (0.20, 0.35), (0.01, 0.03)),
    "muscle": ((0.04, 0.08), (0.10, 0.20), (0.01, 0.03)),
    "lung": ((0.02, 0.04), (0.10, 0.20), (0.05, 0.10)),
}
# background parenchymal enhancement: level probability and fibroglandular Ktrans range (ve 0.3-0.5)
BPE = {
    "minimal": (0.40, (0.005, 0.012)),
    "mild": (0.35, (0.012, 0.022)),
    "moderate": (0.18, (0.022, 0.035)),
    "marked": (0.07, (0.035, 0.050)),
}
# lesion curve types: (kep 1/min, ve, vp) ranges
LESION_RANGES = {
    "persistent": ((0.01, 0.05), (0.70, 1.00), (0.002, 0.012)),
    "plateau": ((0.12, 0.40), (0.35, 0.60), (0.02, 0.05)),
    "washout": ((0.70, 2.00), (0.20, 0.40), (0.04, 0.10)),
}
# Kuhl et al. (Radiology 211:101, 1999) report 9 / 34 / 57 % among cancers; the phantom's default gives the
# persistent type more weight so that every type appears in small sets.
CURVE_TYPE_PROBS = {"persistent": 0.20, "plateau": 0.35, "washout": 0.45}
CURVE_MARGIN = 0.03  # draws must clear the +-10 % BI-RADS threshold by this much
LESION_CONSPICUITY = 1.5  # lesion phase-1 enhancement >= this times the parenchymal one


def t1_ms(tissue: str, tesla: float) -> float:
    """T1 of ``tissue`` at ``tesla`` (linear between the 1.5 T and 3 T values)."""
    lo, hi = T1_MS[tissue]
    w = float(np.clip((tesla - 1.5) / 1.5, 0.0, 1.0))
    return (1 - w) * lo + w * hi


@dataclass(frozen=True)
class Kinetics:
    """Per-tissue Tofts parameters of one patient, and its lesions' curve types."""

    tissues: dict[str, ToftsParams]
    bpe: str
    lesions: tuple[ToftsParams, ...]
    curve_types: tuple[str, ...]


def _uniform(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(*r))


def relative_enhancement(
    params: ToftsParams, tissue: str, tau_s: np.ndarray, dose: float, r1: float, tesla: float, tr: float, flip: float
) -> np.ndarray:
    """Relative signal enhancement S/S0 - 1 of ``tissue`` at times ``tau_s`` after injection."""
    t = time_grid(max(float(np.max(tau_s)), 1.0) + 2.0)
    cp = plasma_aif(t, dose)
    a, b = extended_tofts(t, cp, params.ktrans, params.ve, params.vp)
    c = np.interp(tau_s, t, a + b)
    c = np.where(np.asarray(tau_s) > 0, c, 0.0)
    r10 = 1000.0 / t1_ms(tissue, tesla)
    s = spgr_signal(1.0, r1_with_contrast(r10, c, r1), tr, flip)
    return s / spgr_signal(1.0, r10, tr, flip) - 1.0


def _lesion_ok(curve: str, re: np.ndarray, fgt_re: np.ndarray) -> bool:
    if re[0] < LESION_CONSPICUITY * max(fgt_re[0], 0.0) or re[0] <= 0:
        return False
    early, late = 1.0 + re[0], 1.0 + re[-1]
    change = late / early - 1.0
    if curve == "persistent":
        return bool(np.all(np.diff(re) > 0) and change > 0.10 + CURVE_MARGIN)
    if curve == "washout":
        return bool(change < -(0.10 + CURVE_MARGIN) and int(np.argmax(re)) < len(re) - 1)
    return abs(change) < 0.10 - CURVE_MARGIN / 2


def sample_kinetics(
    rng: np.random.Generator,
    curve_types: tuple[str, ...],
    tau_post_s: np.ndarray,
    dose: float,
    r1: float,
    tesla: float,
    tr: float,
    flip: float,
    max_tries: int = 400,
) -> Kinetics:
    """Draw tissue and lesion parameters; each lesion's curve must show ``curve_types[i]`` at ``tau_post_s``.

    If no draw satisfies the constraints (a few per cent of patients, mostly persistent lesions with late
    phases), the closest conspicuous draw is kept and the type it actually shows is reported.
    """
    tissues = {name: ToftsParams(*(_uniform(rng, r) for r in rr)) for name, rr in TOFTS_RANGES.items()}
    levels = list(BPE)
    bpe = levels[int(rng.choice(len(levels), p=[BPE[b][0] for b in levels]))]
    tissues["fgt"] = ToftsParams(_uniform(rng, BPE[bpe][1]), rng.uniform(0.3, 0.5), rng.uniform(0.003, 0.01))
    tissues["blood"] = ToftsParams(0.0, 1.0, 1.0 - HEMATOCRIT)
    tau = np.asarray(tau_post_s, dtype=float)
    fgt_re = relative_enhancement(tissues["fgt"], "fgt", tau, dose, r1, tesla, tr, flip)
    lesions, types = [], []
    for curve in curve_types:
        kep_r, ve_r, vp_r = LESION_RANGES[curve]
        best: tuple[float, ToftsParams, np.ndarray] | None = None
        for _ in range(max_tries):
            kep, ve = _uniform(rng, kep_r), _uniform(rng, ve_r)
            p = ToftsParams(kep * ve, ve, _uniform(rng, vp_r))
            re = relative_enhancement(p, "lesion", tau, dose, r1, tesla, tr, flip)
            if _lesion_ok(curve, re, fgt_re):
                types.append(curve)
                lesions.append(p)
                break
            change = (1.0 + re[-1]) / (1.0 + re[0]) - 1.0
            score = {"persistent": change, "washout": -change}.get(curve, -abs(change))
            score += 0.0 if re[0] >= LESION_CONSPICUITY * max(fgt_re[0], 0.0) else -10.0 + re[0]
            if best is None or score > best[0]:
                best = (score, p, re)
        else:  # keep the closest conspicuous draw and report the type it shows
            assert best is not None
            _, p, re = best
            lesions.append(p)
            types.append(classify_curve(1.0 + re[0], 1.0 + re[-1]))
    return Kinetics(tissues, bpe, tuple(lesions), tuple(types))
