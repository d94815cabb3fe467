"""DCE acquisition timing facts from Duke and the timing model of the phantom.

Duke facts (922 patients, ``acquisition_times`` = series start in seconds since the pre-contrast series):
post-contrast phases per patient 2 (9), 3 (480), 4 (433), depending on the scanner; phase-1 time median
207 s (range 94-1371 s); the interval between consecutive post phases is constant within a patient to
within 1 s for the median patient (median 116.5 s); phase-1 time and interval have Spearman rho 0.32.
Medians of phases 1-4: 207, 325, 441, 596 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

# number of post-contrast phases (2, 3, 4) per scanner model in Duke
POST_PHASE_COUNTS: dict[str, dict[int, int]] = {
    "Avanto": {2: 4, 3: 124, 4: 51},
    "Optima MR4502": {3: 94, 4: 4},
    "SIGNA EXCITE": {3: 1, 4: 9},
    "SIGNA HDx": {3: 12, 4: 260},
    "SIGNA HDxt": {2: 1, 3: 175, 4: 72},
    "Skyra": {2: 4, 3: 53},
    "Trio": {4: 1},
    "TrioTim": {3: 21, 4: 36},
}

# empirical quantiles (percent -> seconds) of Duke's phase-1 time and of the per-patient mean interval
QUANTILE_LEVELS = (0, 1, 2.5, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 100)
PHASE1_QUANTILES_S = (
    94.0,
    140.0,
    146.0,
    153.0,
    162.1,
    174.0,
    185.0,
    195.0,
    207.0,
    220.0,
    235.0,
    270.8,
    334.9,
    455.9,
    594.7,
    735.4,
    1371.0,
)
INTERVAL_QUANTILES_S = (
    74.5,
    86.3,
    88.3,
    90.7,
    97.0,
    103.0,
    108.7,
    115.0,
    116.5,
    117.5,
    120.6,
    123.5,
    133.6,
    158.6,
    176.0,
    209.2,
    278.3,
)
PHASE1_INTERVAL_SPEARMAN = 0.32
DUKE_PHASE_MEDIANS_S = (0, 207, 325, 441, 596)
# jitter of each later phase around the constant-interval schedule (s); Duke: median 0.5 s, 90 % <= 10 s
PHASE_JITTER_SD_S = 3.0
# contrast injection: after the pre-contrast series (duration = one interval) plus a pause (assumption)
INJECTION_PAUSE_S = (10.0, 40.0)


def _quantile_draw(u: float, quantiles: tuple[float, ...]) -> float:
    return float(np.interp(100.0 * u, QUANTILE_LEVELS, quantiles))


@dataclass(frozen=True)
class Timing:
    """Acquisition schedule of one patient (seconds since the start of the pre-contrast series)."""

    acquisition_times: tuple[int, ...]  # index 0 = pre = 0
    interval_s: float  # duration of one phase (series)
    injection_s: float  # contrast injection time

    def effective_times(self) -> np.ndarray:
        """Time since injection of each phase's k-space centre (mid-series); negative = before injection."""
        t = np.asarray(self.acquisition_times, dtype=float) + self.interval_s / 2.0
        return t - self.injection_s


def sample_post_phases(rng: np.random.Generator, scanner: str) -> int:
    """Number of post-contrast phases with Duke's per-scanner frequencies."""
    counts = POST_PHASE_COUNTS[scanner]
    keys = sorted(counts)
    p = np.array([counts[k] for k in keys], dtype=float)
    return int(keys[int(rng.choice(len(keys), p=p / p.sum()))])


def sample_timing(rng: np.random.Generator, n_post: int) -> Timing:
    """Draw a Duke-like schedule: phase-1 time and interval from Duke's quantiles (Gaussian copula)."""
    rho = 2.0 * np.sin(np.pi * PHASE1_INTERVAL_SPEARMAN / 6.0)  # Spearman -> Pearson for a Gaussian copula
    z1, z2 = rng.standard_normal(2)
    u1 = float(norm.cdf(z1))
    u2 = float(norm.cdf(rho * z1 + np.sqrt(1.0 - rho**2) * z2))
    t1 = _quantile_draw(u1, PHASE1_QUANTILES_S)
    interval = _quantile_draw(u2, INTERVAL_QUANTILES_S)
    times = [0, round(t1)]
    for k in range(1, n_post):
        nxt = round(t1 + k * interval + rng.normal(0.0, PHASE_JITTER_SD_S))
        times.append(max(nxt, times[-1] + 30))
    latest = t1 - 20.0  # injection must precede phase 1
    injection = min(interval + rng.uniform(*INJECTION_PAUSE_S), latest)
    return Timing(tuple(int(t) for t in times), float(interval), float(max(injection, 0.0)))
