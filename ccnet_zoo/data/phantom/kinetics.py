"""Contrast kinetics: Parker population AIF, extended Tofts model and the spoiled gradient echo signal.

Units: time in seconds, concentrations in mM (mmol/L), transfer constants (Ktrans, kep) in 1/min as they are
reported in the DCE-MRI literature, relaxation rates in 1/s, relaxivity r1 in 1/(mM s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.signal import lfilter

# Parker et al., MRM 56:993 (2006), Table 1: population-average blood AIF for 0.1 mmol/kg Gd-DTPA.
PARKER_A = (0.809, 0.330)  # mmol·min
PARKER_T = (0.17046, 0.365)  # min
PARKER_SIGMA = (0.0563, 0.132)  # min
PARKER_ALPHA = 1.050  # mM
PARKER_BETA = 0.1685  # 1/min
PARKER_S = 38.078  # 1/min
PARKER_TAU = 0.483  # min
HEMATOCRIT = 0.42  # large-vessel haematocrit used to turn blood into plasma concentration
STANDARD_DOSE_MMOL_PER_KG = 0.1  # the dose the Parker AIF describes


def parker_blood_aif(t_s: ArrayLike, dose_scale: float = 1.0) -> NDArray[np.float64]:
    """Whole-blood Gd concentration (mM) at ``t_s`` seconds after injection (Parker 2006).

    ``dose_scale`` is the injected dose relative to 0.1 mmol/kg; the curve is zero before injection.
    """
    t = np.asarray(t_s, dtype=np.float64) / 60.0
    cb = np.zeros_like(t)
    for a, mu, sig in zip(PARKER_A, PARKER_T, PARKER_SIGMA, strict=True):
        cb += a / (sig * np.sqrt(2.0 * np.pi)) * np.exp(-((t - mu) ** 2) / (2.0 * sig**2))
    with np.errstate(over="ignore"):
        cb += PARKER_ALPHA * np.exp(-PARKER_BETA * t) / (1.0 + np.exp(-PARKER_S * (t - PARKER_TAU)))
    cb[t < 0] = 0.0
    return dose_scale * cb


def plasma_aif(t_s: ArrayLike, dose_scale: float = 1.0, hematocrit: float = HEMATOCRIT) -> NDArray[np.float64]:
    """Plasma concentration Cp = Cb / (1 - Hct) in mM."""
    return parker_blood_aif(t_s, dose_scale) / (1.0 - hematocrit)


def extended_tofts(
    t_s: NDArray[np.float64], cp: NDArray[np.float64], ktrans: float, ve: float, vp: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Extended Tofts tissue concentration on a uniform time grid.

    ``Ct(t) = vp Cp(t) + Ktrans ∫ Cp(u) exp(-kep (t-u)) du`` with ``kep = Ktrans / ve`` (Ktrans in 1/min).
    Returns the two parts ``(vp*Cp, extravascular)`` so callers can scale the leakage term per voxel.
    The convolution is integrated exactly for a piecewise-linear Cp (recursive, O(n)).
    """
    if ktrans < 0 or not 0 < ve <= 1 or not 0 <= vp < 1:
        raise ValueError(f"unphysical Tofts parameters Ktrans={ktrans}, ve={ve}, vp={vp}")
    t = np.asarray(t_s, dtype=np.float64)
    dt = np.diff(t)
    if dt.size and not np.allclose(dt, dt[0]):
        raise ValueError("extended_tofts needs a uniform time grid")
    k = ktrans / 60.0  # 1/s
    kep = k / ve
    ees = np.zeros_like(t)
    if t.size > 1 and k > 0:
        h = float(dt[0])
        e = np.exp(-kep * h)
        # exact integral of exp(-kep (h-s)) * linear interpolant of cp over one step
        w1 = (1.0 - e) / kep - (1.0 - (1.0 + kep * h) * e) / (kep**2 * h) if kep * h > 1e-8 else h / 2
        w0 = (1.0 - e) / kep - w1
        # conv[i] = e conv[i-1] + w0 cp[i-1] + w1 cp[i]  (a first-order IIR filter)
        ees = k * lfilter([w1, w0], [1.0, -e], np.asarray(cp, dtype=np.float64))
    return vp * cp, ees


def spgr_signal(
    m0: ArrayLike,
    r1_per_s: ArrayLike,
    tr_s: float,
    flip_deg: float,
    te_s: float = 0.0,
    r2s_per_s: float = 0.0,
) -> NDArray[np.float64]:
    """Steady-state spoiled gradient echo signal ``M0 sin a (1-E1)/(1-cos a E1) exp(-TE R2*)``."""
    a = np.deg2rad(flip_deg)
    e1 = np.exp(-tr_s * np.asarray(r1_per_s, dtype=np.float64))
    s = np.asarray(m0, dtype=np.float64) * np.sin(a) * (1.0 - e1) / (1.0 - np.cos(a) * e1)
    return s * np.exp(-te_s * r2s_per_s)


def r1_with_contrast(r10_per_s: ArrayLike, conc_mM: ArrayLike, relaxivity: float) -> NDArray[np.float64]:
    """Fast-exchange T1 shortening: ``R1 = R10 + r1 C``."""
    return np.asarray(r10_per_s, dtype=np.float64) + relaxivity * np.asarray(conc_mM, dtype=np.float64)


@dataclass(frozen=True)
class ToftsParams:
    """Extended Tofts parameters of one tissue (Ktrans in 1/min)."""

    ktrans: float
    ve: float
    vp: float

    @property
    def kep(self) -> float:
        """Efflux rate constant in 1/min."""
        return self.ktrans / self.ve


CURVE_TYPES = ("persistent", "plateau", "washout")


def classify_curve(early: float, late: float, threshold: float = 0.10) -> str:
    """BI-RADS delayed-phase curve type from the early and the last post-contrast signal.

    Persistent: late rises more than ``threshold`` (relative to early); washout: falls more than it;
    plateau otherwise.
    """
    change = (late - early) / max(abs(early), 1e-12)
    if change > threshold:
        return "persistent"
    if change < -threshold:
        return "washout"
    return "plateau"


def time_grid(t_end_s: float, step_s: float = 1.0) -> NDArray[np.float64]:
    """Uniform grid from 0 to ``t_end_s`` (inclusive) used to integrate the kinetics."""
    n = int(np.ceil(t_end_s / step_s)) + 1
    return np.arange(n, dtype=np.float64) * step_s
