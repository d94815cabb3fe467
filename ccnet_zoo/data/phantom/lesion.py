"""Lesion geometry: round, irregular and spiculated masses with an uptake (Ktrans scaling) map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SHAPES = ("round", "irregular", "spiculated")
SHAPE_PROBS = (0.30, 0.40, 0.30)  # assumption: mass shapes among invasive cancers


@dataclass(frozen=True)
class LesionParams:
    """One lesion in normalised image units (image spans [-1, 1]; 1 unit = FOV/2)."""

    side: int  # -1 image left (patient right), +1 image right (patient left)
    cx: float
    cy: float
    cz: float
    radius: float  # in-plane mean radius
    radius_z: float  # through-plane half extent
    shape: str
    aspect: float  # minor/major axis ratio
    angle: float  # orientation of the major axis (rad)
    harmonics: tuple[tuple[int, float, float], ...]  # (k, amplitude, phase) of the boundary
    spikes: tuple[tuple[float, float, float], ...]  # (angle, length/radius, half-width rad)
    rim: bool  # rim enhancement (uptake higher at the margin)
    necrotic: bool  # non-enhancing core


def sample_lesion(
    rng: np.random.Generator, side: int, cx: float, cy: float, cz: float, radius: float, shape: str | None = None
) -> LesionParams:
    """Draw shape details for a lesion centred at (cx, cy, cz) with mean radius ``radius``."""
    shape = shape or SHAPES[int(rng.choice(3, p=SHAPE_PROBS))]
    if shape == "round":
        harmonics = tuple((k, rng.uniform(0.0, 0.03), rng.uniform(0, 2 * np.pi)) for k in (2, 3))
        spikes: tuple[tuple[float, float, float], ...] = ()
        aspect = rng.uniform(0.8, 1.0)
    else:
        amp = (0.12, 0.25) if shape == "irregular" else (0.05, 0.12)
        harmonics = tuple((k, rng.uniform(*amp) / k**0.5, rng.uniform(0, 2 * np.pi)) for k in range(2, 7))
        aspect = rng.uniform(0.65, 0.95)
        spikes = ()
        if shape == "spiculated":
            n = int(rng.integers(6, 15))
            spikes = tuple(
                (rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.2), rng.uniform(0.04, 0.09)) for _ in range(n)
            )
    return LesionParams(
        side=side,
        cx=cx,
        cy=cy,
        cz=cz,
        radius=radius,
        radius_z=radius * rng.uniform(0.8, 1.2),
        shape=shape,
        aspect=aspect,
        angle=rng.uniform(0, np.pi),
        harmonics=harmonics,
        spikes=spikes,
        rim=bool(rng.uniform() < 0.35),
        necrotic=bool(radius > 0.06 and rng.uniform() < 0.3),
    )


def render_lesion(
    p: LesionParams, x: NDArray[np.float64], y: NDArray[np.float64], z: float, px: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Partial-volume fraction and uptake map of the lesion on the meshgrid (x, y) at slice position ``z``.

    ``px`` is the pixel size in the same units (for a one-pixel soft edge); work is limited to the lesion's box.
    """
    dz = (z - p.cz) / p.radius_z
    if abs(dz) >= 1.0:
        zero = np.zeros_like(x)
        return zero, zero
    r = p.radius * np.sqrt(1.0 - dz**2)
    frac_full, uptake_full = np.zeros_like(x), np.zeros_like(x)
    reach = r * (1.0 + sum(a for _, a, _ in p.harmonics) + max((s[1] for s in p.spikes), default=0.0))
    reach = reach / np.sqrt(p.aspect) + 2.0 * px
    rows = np.flatnonzero(np.abs(y[:, 0] - p.cy) <= reach)
    cols = np.flatnonzero(np.abs(x[0, :] - p.cx) <= reach)
    if rows.size == 0 or cols.size == 0:
        return frac_full, uptake_full
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    x, y = x[box], y[box]
    ca, sa = np.cos(p.angle), np.sin(p.angle)
    u = ((x - p.cx) * ca + (y - p.cy) * sa) / np.sqrt(p.aspect)
    v = (-(x - p.cx) * sa + (y - p.cy) * ca) * np.sqrt(p.aspect)
    rho = np.hypot(u, v)
    theta = np.arctan2(v, u)
    boundary = np.ones_like(rho)
    for k, a, ph in p.harmonics:
        boundary += a * np.cos(k * theta + ph + 3.0 * dz)
    for ang, length, width in p.spikes:
        d = np.angle(np.exp(1j * (theta - ang)))
        boundary += length * np.clip(1.0 - np.abs(d) / width, 0.0, None) ** 2
    boundary *= r
    frac = np.clip((boundary - rho) / px + 0.5, 0.0, 1.0)
    rel = np.clip(rho / np.maximum(boundary, 1e-9), 0.0, 1.0)
    uptake = np.ones_like(rho)
    if p.rim:
        uptake = 0.55 + 0.75 * rel**2
    if p.necrotic:
        core = 1.0 / (1.0 + np.exp((rel - 0.4) / 0.06))
        uptake = uptake * (1.0 - 0.85 * core)
    frac_full[box], uptake_full[box] = frac, uptake
    return frac_full, uptake_full
