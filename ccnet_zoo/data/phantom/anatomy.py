"""Axial breast anatomy of a virtual patient: tissue fraction maps for a stack of slices.

Geometry is drawn in normalised units (the square field of view spans [-1, 1]; ``FOV_MM`` = 340 mm), with
anterior at the top of the image (row 0) and the patient's left on the image right (radiological view).
Tissue classes: fat, fibroglandular tissue (fgt), skin, chest-wall muscle, blood (vessels, heart), lung and
lesion; fractions are partial-volume weights that sum to at most 1 (the rest is air).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from ccnet_zoo.data.phantom.lesion import LesionParams, render_lesion, sample_lesion

FOV_MM = 340.0
MM = 2.0 / FOV_MM  # one millimetre in normalised units
TISSUES = ("fat", "fgt", "skin", "muscle", "blood", "lung", "lesion")
# BI-RADS breast density categories: population frequency and fibroglandular fraction of the breast interior
DENSITY = {"a": (0.10, (0.03, 0.12)), "b": (0.40, (0.12, 0.30)), "c": (0.40, (0.30, 0.55)), "d": (0.10, (0.55, 0.8))}


@dataclass(frozen=True)
class Breast:
    """One breast: centre, half-width at the chest wall, depth (anterior projection), shape terms."""

    cx: float
    half_width: float
    depth: float
    power: float
    wobble: tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class Vessel:
    """A sinuous vessel from the chest wall towards the nipple."""

    side: int
    x0: float
    reach: float  # fraction of the breast depth it runs
    amplitude: float
    frequency: float
    phase: float
    drift: float  # x shift per unit z (oblique course)
    radius: float
    start: float  # visible part of the course (fractions of its length); the rest leaves the slice
    stop: float


@dataclass(frozen=True)
class VesselDot:
    """A vessel crossing the slice plane: a small disc (position as fractions of the breast)."""

    side: int
    u: float  # -1..1 across the breast base
    v: float  # 0..1 from chest wall to skin
    drift: float
    radius: float


@dataclass(frozen=True)
class AnatomyParams:
    """Everything that defines the anatomy of one patient."""

    chest_y: float
    chest_curvature: float
    prepectoral_fat: float
    muscle_thickness: float
    skin: float
    subcutaneous_fat: float
    breasts: tuple[Breast, Breast]
    density: str
    fgt_fraction: float
    heart: tuple[float, float, float, float]
    vessels: tuple[Vessel, ...]
    dots: tuple[VesselDot, ...]
    lesions: tuple[LesionParams, ...]
    z: tuple[float, ...]  # slice positions
    texture_seed: int


@dataclass
class Anatomy:
    """Rendered fraction maps (n_slices, H, W) and uptake/texture maps."""

    fractions: dict[str, NDArray[np.float32]]
    fgt_uptake: NDArray[np.float32]
    lesion_uptake: NDArray[np.float32]
    m0_texture: NDArray[np.float32]
    lesion_mask: NDArray[np.bool_]
    extras: dict[str, object] = field(default_factory=dict)


def chest_line(p: AnatomyParams, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row coordinate of the anterior chest wall (convex towards anterior)."""
    return p.chest_y + p.chest_curvature * x**2


def breast_front(p: AnatomyParams, b: Breast, x: NDArray[np.float64], z: float) -> NDArray[np.float64]:
    """Anterior skin line of breast ``b``; +inf outside its base."""
    u = (x - b.cx) / b.half_width
    inside = np.abs(u) < 1.0
    prof = np.where(inside, np.clip(1.0 - u**2, 0.0, None) ** b.power, 0.0)
    for k, a, ph in b.wobble:
        prof = prof * (1.0 + a * np.cos(k * np.pi * u + ph))
    prof = prof + 0.02 * np.exp(-((u / 0.07) ** 2))  # nipple
    depth = b.depth * (1.0 - 0.3 * z**2)
    front = chest_line(p, x) - depth * prof
    return np.where(inside, front, np.inf)


def sample_anatomy(
    rng: np.random.Generator, n_slices: int, lesion_sides: tuple[int, ...], lesion_shape: str | None = None
) -> AnatomyParams:
    """Draw one patient's anatomy; ``lesion_sides`` holds -1/+1 for each lesion (empty = no lesion)."""
    chest_y = rng.uniform(0.12, 0.32)
    curvature = rng.uniform(0.12, 0.3)
    size = rng.uniform(0.75, 1.25)
    breasts = []
    for side in (-1, 1):
        asym = rng.uniform(0.95, 1.05)
        breasts.append(
            Breast(
                cx=side * rng.uniform(0.42, 0.52),
                half_width=min(0.44, rng.uniform(0.32, 0.4) * size**0.5 * asym),
                depth=min(chest_y + 0.9, rng.uniform(0.45, 0.7) * size * asym),
                power=rng.uniform(0.35, 0.6),
                wobble=tuple((k, rng.uniform(0.0, 0.06), rng.uniform(0, 2 * np.pi)) for k in (1, 2, 3)),
            )
        )
    dens = list(DENSITY)
    density = dens[int(rng.choice(4, p=[DENSITY[d][0] for d in dens]))]
    vessels, dots = [], []
    for b, side in zip(breasts, (-1, 1), strict=True):
        for _ in range(int(rng.integers(2, 5))):
            start = rng.uniform(0.0, 0.4)
            vessels.append(
                Vessel(
                    side=side,
                    x0=b.cx + rng.uniform(-0.7, 0.7) * b.half_width,
                    reach=rng.uniform(0.4, 0.85),
                    amplitude=rng.uniform(0.01, 0.04),
                    frequency=rng.uniform(0.4, 1.2),
                    phase=rng.uniform(0, 2 * np.pi),
                    drift=rng.uniform(-0.3, 0.3),
                    radius=rng.uniform(0.5, 1.2) * MM,
                    start=start,
                    stop=min(1.0, start + rng.uniform(0.25, 0.6)),
                )
            )
        for _ in range(int(rng.integers(2, 7))):
            dots.append(
                VesselDot(
                    side,
                    rng.uniform(-0.75, 0.75),
                    rng.uniform(0.1, 0.75),
                    rng.uniform(-0.3, 0.3),
                    rng.uniform(0.6, 1.4) * MM,
                )
            )
    p0 = AnatomyParams(
        chest_y=chest_y,
        chest_curvature=curvature,
        prepectoral_fat=rng.uniform(3, 8) * MM,
        muscle_thickness=rng.uniform(8, 15) * MM,
        skin=rng.uniform(1.5, 2.5) * MM,
        subcutaneous_fat=rng.uniform(4, 12) * MM,
        breasts=(breasts[0], breasts[1]),
        density=density,
        fgt_fraction=rng.uniform(*DENSITY[density][1]),
        heart=(rng.uniform(-0.1, 0.1), rng.uniform(0.45, 0.65), rng.uniform(0.24, 0.32), rng.uniform(0.16, 0.24)),
        vessels=tuple(vessels),
        dots=tuple(dots),
        lesions=(),
        z=(),
        texture_seed=int(rng.integers(2**31)),
    )
    lesions = []
    for i, side in enumerate(lesion_sides):
        b = p0.breasts[0 if side < 0 else 1]
        radius = float(np.clip(rng.lognormal(np.log(9.0), 0.45), 4.0, 25.0)) * MM
        radius = min(radius, 0.3 * b.half_width, 0.3 * b.depth)
        cx = b.cx + rng.uniform(-0.45, 0.45) * b.half_width
        cy = float(chest_line(p0, np.array(cx))) - b.depth * rng.uniform(0.3, 0.6)
        cz = 0.0 if i == 0 else rng.uniform(-0.5, 0.5) * radius
        lesions.append(sample_lesion(rng, side, cx, cy, cz, radius, lesion_shape))
    if lesions:
        half = 0.85 * lesions[0].radius_z
        z = np.linspace(-half, half, n_slices) if n_slices > 1 else np.zeros(1)
    else:
        z = (np.arange(n_slices) - (n_slices - 1) / 2.0) * 2.5 * MM
    z = z + rng.uniform(-0.2, 0.2)  # position of the stack within the breast
    lesions = [
        LesionParams(**{**lp.__dict__, "cz": lp.cz + float(z.mean())})  # keep lesions centred on the stack
        for lp in lesions
    ]
    return AnatomyParams(**{**p0.__dict__, "lesions": tuple(lesions), "z": tuple(float(v) for v in z)})


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int, int], sigma: tuple[float, float, float]
) -> NDArray[np.float64]:
    field_ = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return (field_ - field_.mean()) / (field_.std() + 1e-12)


def _soft(d_px: NDArray[np.float64]) -> NDArray[np.float64]:
    """Partial-volume fraction from a signed distance in pixels (positive inside)."""
    return np.clip(d_px + 0.5, 0.0, 1.0)


def render_anatomy(p: AnatomyParams, size: int) -> Anatomy:
    """Render the fraction maps of all slices at ``size`` x ``size`` pixels (2x supersampled below 160)."""
    ss = 2 if size < 160 else 1
    n = size * ss
    px = 2.0 / n
    c = (np.arange(n) + 0.5) * px - 1.0
    x, y = np.meshgrid(c, c)  # y: rows (anterior = -1)
    ns = len(p.z)
    rng = np.random.default_rng(p.texture_seed)
    dz_mm = (abs(p.z[-1] - p.z[0]) / max(ns - 1, 1)) / MM if ns > 1 else 3.0
    sz = 4.0 / max(dz_mm, 0.5)
    big = _smooth_noise(rng, (ns, n, n), (sz, 6.0 * MM / px, 3.5 * MM / px))
    fine = _smooth_noise(rng, (ns, n, n), (sz / 3, 1.2 * MM / px, 1.0 * MM / px))
    fgt_noise = big + 0.35 * fine
    tex = _smooth_noise(rng, (ns, n, n), (sz, 10 * MM / px, 10 * MM / px))
    upt = _smooth_noise(rng, (ns, n, n), (sz, 3 * MM / px, 3 * MM / px))

    out = {t: np.zeros((ns, n, n)) for t in TISSUES}
    fgt_uptake = np.ones((ns, n, n))
    lesion_uptake = np.zeros((ns, n, n))
    chest = chest_line(p, x)
    for k, z in enumerate(p.z):
        front = np.minimum(breast_front(p, p.breasts[0], c, z), breast_front(p, p.breasts[1], c, z))[None, :]
        in_breast = (y >= front) & (y < chest)
        thorax = (y >= chest) & (np.abs(x) <= 0.97)
        body = in_breast | thorax
        depth_px = ndimage.distance_transform_edt(body)
        skin = _soft((p.skin / px) - depth_px + 0.5) * body
        # chest wall: pre-pectoral fat, pectoral muscle tapering laterally, then lung with the heart
        below = (y - chest) / px
        taper = np.clip(1.0 - (x / 0.85) ** 2, 0.0, 1.0)
        m_top = p.prepectoral_fat / px
        m_bot = m_top + taper * p.muscle_thickness / px
        muscle = np.clip(np.minimum(below - m_top, m_bot - below) + 0.5, 0.0, 1.0) * thorax
        inner = np.clip(below - (m_top + p.muscle_thickness / px + 6.0 * MM / px) + 0.5, 0.0, 1.0) * thorax
        hx, hy, hrx, hry = p.heart
        hy_abs = p.chest_y + hy
        rad = np.hypot((x - hx) / hrx, (y - hy_abs) / hry)
        heart = _soft((1.0 - rad) * min(hrx, hry) / px) * inner
        cavity = _soft((0.8 - rad) * min(hrx, hry) / px) * inner  # blood pool inside the myocardium
        myocardium = heart - cavity
        sternum_y = p.chest_y + m_top * px + p.muscle_thickness + 8 * MM
        sternum = _soft((1.0 - np.hypot(x / 0.07, (y - sternum_y) / 0.03)) * 0.03 / px) * inner
        lung = np.clip(inner - heart - sternum, 0.0, 1.0)
        muscle = np.maximum(muscle, myocardium)
        # fibroglandular tissue: central part of the breast, strands along the anterior-posterior axis
        allowed = in_breast & (depth_px * px > p.subcutaneous_fat) & (y < chest - p.prepectoral_fat)
        dist_margin = np.clip((depth_px * px - p.subcutaneous_fat) / (12 * MM), 0.0, 1.0)
        score = fgt_noise[k] + 1.2 * dist_margin
        fgt = np.zeros_like(x)
        if allowed.any():
            target = p.fgt_fraction * in_breast.sum() / max(allowed.sum(), 1)
            thr = np.quantile(score[allowed], 1.0 - min(target, 0.97))
            fgt = 1.0 / (1.0 + np.exp(-(score - thr) / 0.25)) * allowed
        # vessels (distance to a rasterised centre line) and internal thoracic vessels
        blood = cavity.copy()
        line = np.ones((n, n), dtype=bool)
        radius_img = np.zeros((n, n))
        for v in p.vessels:
            b = p.breasts[0 if v.side < 0 else 1]
            s = np.linspace(v.start, v.stop, 4 * n)
            base_x = v.x0 + v.drift * z
            yb = float(chest_line(p, np.array(base_x)))
            vy = yb - s * v.reach * b.depth
            vx = base_x + v.amplitude * np.sin(2 * np.pi * v.frequency * s + v.phase)
            ix, iy = np.rint((vx + 1.0) / px - 0.5).astype(int), np.rint((vy + 1.0) / px - 0.5).astype(int)
            ok = (ix >= 0) & (ix < n) & (iy >= 0) & (iy < n)
            line[iy[ok], ix[ok]] = False
            radius_img[iy[ok], ix[ok]] = v.radius / px
        if not line.all():
            dist, (ny, nx) = ndimage.distance_transform_edt(line, return_indices=True)
            blood = np.maximum(blood, _soft(radius_img[ny, nx] - dist) * in_breast)
        for d in p.dots:
            b = p.breasts[0 if d.side < 0 else 1]
            dx = b.cx + d.u * b.half_width + d.drift * z
            dy = float(chest_line(p, np.array(dx))) - d.v * b.depth
            blood = np.maximum(blood, _soft((d.radius - np.hypot(x - dx, y - dy)) / px) * in_breast)
        ima_y = p.chest_y + p.prepectoral_fat + p.muscle_thickness + 4 * MM
        for sx in (-0.12, 0.12):
            blood = np.maximum(blood, _soft((1.5 * MM - np.hypot(x - sx, y - ima_y)) / px) * thorax)
        lesion = np.zeros_like(x)
        luptake = np.zeros_like(x)
        for lp in p.lesions:
            f, u = render_lesion(lp, x, y, z, px)
            f = f * in_breast
            luptake = np.where(f > lesion, u, luptake)
            lesion = np.maximum(lesion, f)
        # assemble: skin on top, then lesion, vessels, muscle, fgt; fat fills the rest of the body
        rest = body.astype(float) - skin
        lesion = np.minimum(lesion, rest)
        rest -= lesion
        blood = np.minimum(blood, rest)
        rest -= blood
        muscle = np.minimum(muscle, rest)
        rest -= muscle
        lung = np.minimum(lung, rest)
        rest -= lung
        fgt = np.minimum(fgt, rest)
        rest -= fgt
        for name, arr in (("skin", skin), ("lesion", lesion), ("blood", blood), ("muscle", muscle)):
            out[name][k] = arr
        out["lung"][k], out["fgt"][k], out["fat"][k] = lung, fgt, np.clip(rest, 0.0, 1.0)
        lesion_uptake[k] = luptake * np.clip(1.0 + 0.12 * upt[k], 0.5, 1.5)
        fgt_uptake[k] = np.clip(1.0 + 0.3 * upt[k], 0.3, 2.0)

    def down(a: NDArray[np.float64]) -> NDArray[np.float32]:
        if ss == 1:
            return a.astype(np.float32)
        return a.reshape(ns, size, ss, size, ss).mean(axis=(2, 4)).astype(np.float32)

    fractions = {t: down(out[t]) for t in TISSUES}
    # uptake maps are averaged weighted by the fraction they belong to
    lw = out["lesion"]
    l_up = down(lesion_uptake * lw) / np.maximum(fractions["lesion"], 1e-6)
    return Anatomy(
        fractions=fractions,
        fgt_uptake=down(fgt_uptake),
        lesion_uptake=np.where(fractions["lesion"] > 0, l_up, 0.0).astype(np.float32),
        m0_texture=down(1.0 + 0.04 * tex),
        lesion_mask=fractions["lesion"] >= 0.5,
    )
