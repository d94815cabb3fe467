"""A physically grounded breast DCE-MRI phantom written in the Duke preparation's layout.

Per virtual patient: scanner metadata and DCE timing drawn with Duke's frequencies, clinical fields, an
anatomy (``anatomy``), tissue kinetics (Parker AIF + extended Tofts, ``tissues``), the spoiled gradient echo
signal with T1 shortening, a bias field, the vendor's gain and Rician noise scaled with field strength.
See docs/phantom.md.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.data import layout
from ccnet_zoo.data.errors import DataError
from ccnet_zoo.data.phantom.acquisition import Timing, sample_post_phases, sample_timing
from ccnet_zoo.data.phantom.anatomy import TISSUES, Anatomy, AnatomyParams, render_anatomy, sample_anatomy
from ccnet_zoo.data.phantom.clinical import ClinicalDraw, sample_clinical
from ccnet_zoo.data.phantom.kinetics import extended_tofts, plasma_aif, r1_with_contrast, spgr_signal, time_grid
from ccnet_zoo.data.phantom.scanner import ScannerDraw, bias_sd, noise_sigma, relaxivity, sample_scanner
from ccnet_zoo.data.phantom.tissues import CURVE_TYPE_PROBS, PROTON_DENSITY, Kinetics, sample_kinetics, t1_ms
from ccnet_zoo.data.prompts import with_prompts
from ccnet_zoo.data.splits import resolve_split, write_split_file

log = logging.getLogger(__name__)
TRUTH_FILE = "phantom_truth.csv"
TRUTH_COLUMNS = (
    "patient_id",
    "split",
    "n_lesions",
    "curve_type",
    "lesion_shape",
    "lesion_radius_mm",
    "ktrans",
    "ve",
    "vp",
    "kep",
    "fgt_ktrans",
    "bpe",
    "density",
    "injection_s",
    "interval_s",
    "tr_ms",
    "flip_deg",
    "fat_residual",
    "dose_scale",
    "gain",
    "noise_sigma",
    "tesla",
)


INTENSITY_MODES = ("phase", "patient")


@dataclass(frozen=True)
class PhantomConfig:
    """What to generate. ``post_phases=None`` draws 2-4 phases per patient with Duke's frequencies."""

    patients: int = 64
    slices: int = 8
    size: int = 128
    post_phases: int | None = None
    seed: int = 0
    lesion_fraction: float = 0.9
    curve_type_probs: dict[str, float] = field(default_factory=lambda: dict(CURVE_TYPE_PROBS))
    id_prefix: str = "Breast_MRI_"
    split: str = "random"
    #: "phase": each phase volume min-max scaled on its own (CC-Net's and the Duke adapter's convention);
    #: "patient": one min-max window per patient across pre and post phases, so enhancement stays visible.
    intensity: str = "phase"

    def validate(self) -> None:
        """Raise DataError for out-of-range settings."""
        if self.patients < 1:
            raise DataError(f"patients must be >= 1, got {self.patients}")
        if self.slices < 1:
            raise DataError(f"slices must be >= 1, got {self.slices}")
        if not 16 <= self.size <= 1024:
            raise DataError(f"size must be within 16..1024, got {self.size}")
        if self.post_phases is not None and not 2 <= self.post_phases <= 4:
            raise DataError(f"post_phases must be 2, 3 or 4 (Duke has 2-4), got {self.post_phases}")
        if not 0.0 <= self.lesion_fraction <= 1.0:
            raise DataError(f"lesion_fraction must be within 0..1, got {self.lesion_fraction}")
        if self.intensity not in INTENSITY_MODES:
            raise DataError(f"intensity must be one of {', '.join(INTENSITY_MODES)}, got {self.intensity!r}")
        probs = self.curve_type_probs
        if set(probs) != set(CURVE_TYPE_PROBS) or min(probs.values()) < 0 or sum(probs.values()) <= 0:
            raise DataError(f"curve_type_probs needs non-negative weights for {sorted(CURVE_TYPE_PROBS)}")


@dataclass(frozen=True)
class PatientSpec:
    """Everything drawn for one virtual patient (images follow deterministically from it)."""

    patient_id: str
    scanner: ScannerDraw
    timing: Timing
    clinical: ClinicalDraw
    anatomy: AnatomyParams
    kinetics: Kinetics
    slice_indices: tuple[int, ...]
    bias: tuple[float, ...]  # coefficients of x, y, x^2, y^2, xy
    noise_seed: int

    @property
    def noise_sigma(self) -> float:
        """Noise standard deviation in M0 units (before the vendor gain)."""
        return noise_sigma(self.scanner.tesla, self.scanner.noise_load)

    def metadata_row(self) -> dict[str, str]:
        """The patient's ``LDM_metadata.csv`` row (Duke columns and prompts)."""
        s, c = self.scanner, self.clinical
        row = {
            "patient_id": self.patient_id,
            "acquisition_times": layout.format_times(self.timing.acquisition_times),
            "manufacturer": s.manufacturer,
            "scanner": s.scanner,
            "field_strength": s.field_strength,
            "contrast_agent": s.contrast_agent,
            "contrast_bolus_volume": s.contrast_bolus_volume,
            **asdict(c),
        }
        return with_prompts(row)


@dataclass
class PatientImages:
    """Float volumes of one patient: (phases, slices, H, W) in scanner units, plus masks."""

    noisy: NDArray[np.float32]
    noise_free: NDArray[np.float32]
    anatomy: Anatomy

    @property
    def lesion_mask(self) -> NDArray[np.bool_]:
        """Lesion mask (slices, H, W)."""
        return self.anatomy.lesion_mask

    def parenchyma_mask(self, threshold: float = 0.6) -> NDArray[np.bool_]:
        """Pixels that are mostly fibroglandular tissue and not lesion."""
        f = self.anatomy.fractions
        return (f["fgt"] >= threshold) & (f["lesion"] == 0)


def _lesion_sides(rng: np.random.Generator, clinical: ClinicalDraw, has_lesion: bool) -> tuple[int, ...]:
    if not has_lesion:
        return ()
    # radiological view: the patient's left breast is on the image right (+1)
    side = {"left": 1, "right": -1}.get(clinical.tumor_location, int(rng.choice([-1, 1])))
    return (side, -side) if clinical.tumor_bilateral == "bilateral" else (side,)


def sample_patient(config: PhantomConfig, index: int) -> PatientSpec:
    """Draw patient ``index`` of a phantom; independent of the other patients and of the image size."""
    seq = np.random.SeedSequence([config.seed, index])
    r_meta, r_anat, r_kin, r_noise = (np.random.default_rng(s) for s in seq.spawn(4))
    scanner = sample_scanner(r_meta)
    n_post = config.post_phases or sample_post_phases(r_meta, scanner.scanner)
    timing = sample_timing(r_meta, n_post)
    has_lesion = bool(r_meta.uniform() < config.lesion_fraction)
    clinical = sample_clinical(r_meta, has_lesion)
    sides = _lesion_sides(r_meta, clinical, has_lesion)
    names = list(CURVE_TYPE_PROBS)
    w = np.array([config.curve_type_probs[n] for n in names], dtype=float)
    curves = tuple(names[int(r_kin.choice(len(names), p=w / w.sum()))] for _ in sides)
    anatomy = sample_anatomy(r_anat, config.slices, sides)
    tesla = scanner.tesla
    kinetics = sample_kinetics(
        r_kin,
        curves,
        timing.effective_times()[1:],
        scanner.dose_scale,
        relaxivity(scanner.contrast_agent, tesla),
        tesla,
        scanner.tr_s,
        scanner.flip_deg,
    )
    n_total = int(r_anat.integers(140, 200))
    start = int(r_anat.integers(n_total // 4, max(n_total // 4 + 1, 3 * n_total // 4 - config.slices)))
    width = max(3, len(str(config.patients)))
    return PatientSpec(
        patient_id=f"{config.id_prefix}{index + 1:0{width}d}",
        scanner=scanner,
        timing=timing,
        clinical=clinical,
        anatomy=anatomy,
        kinetics=kinetics,
        slice_indices=tuple(range(start, start + config.slices)),
        bias=tuple(float(v) for v in r_noise.normal(0.0, bias_sd(tesla), 5)),
        noise_seed=int(r_noise.integers(2**63)),
    )


def tissue_concentrations(spec: PatientSpec, tau_s: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Concentration (mM) of each tissue at times ``tau_s`` after injection (lesion: nominal uptake)."""
    t = time_grid(max(float(np.max(tau_s)), 1.0) + 2.0)
    cp = plasma_aif(t, spec.scanner.dose_scale)
    out = {}
    params = dict(spec.kinetics.tissues)
    for i, p in enumerate(spec.kinetics.lesions):
        params[f"lesion{i}"] = p
    for name, p in params.items():
        a, b = extended_tofts(t, cp, p.ktrans, p.ve, p.vp)
        out[name] = np.where(tau_s > 0, np.interp(tau_s, t, a + b), 0.0)
    return out


def _lesion_concentration(spec: PatientSpec, conc: dict, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Per-pixel nominal lesion concentration; with two lesions each breast (image half) has its own."""
    lesions = spec.anatomy.lesions
    if len(lesions) <= 1:
        return conc["lesion0"][:, None, None, None] * np.ones((1, 1, 1, 1))
    n = shape[-1]
    cols = (np.arange(n) + 0.5) * 2.0 / n - 1.0
    out = np.zeros((shape[0], 1, 1, n))
    for i, lp in enumerate(lesions):
        out += conc[f"lesion{i}"][:, None, None, None] * (np.sign(cols) == lp.side)[None, None, None, :]
    return out


def simulate_patient(spec: PatientSpec, size: int) -> PatientImages:
    """Render the patient's DCE series as float volumes (phase 0 = pre-contrast, no contrast agent)."""
    anat = render_anatomy(spec.anatomy, size)
    s = spec.scanner
    tesla = s.tesla
    r1 = relaxivity(s.contrast_agent, tesla)
    tau = spec.timing.effective_times()
    tau[0] = -1.0  # the pre-contrast series is acquired before the injection by definition
    conc = tissue_concentrations(spec, tau)
    n_ph = len(tau)
    shape = (n_ph, *anat.fractions["fat"].shape)
    img = np.zeros(shape, dtype=np.float64)
    m0_tex = anat.m0_texture[None].astype(np.float64)
    for tissue in TISSUES:
        frac = anat.fractions[tissue][None].astype(np.float64)
        if not frac.any():
            continue
        m0 = PROTON_DENSITY[tissue] * (s.fat_residual if tissue == "fat" else 1.0)
        r10 = 1000.0 / t1_ms(tissue, tesla)
        if tissue == "lesion":
            c = _lesion_concentration(spec, conc, shape) * anat.lesion_uptake[None]
        elif tissue == "fgt":
            c = conc["fgt"][:, None, None, None] * anat.fgt_uptake[None]
        else:
            c = conc[tissue][:, None, None, None] * np.ones((1, 1, 1, 1))
        sig = spgr_signal(m0, r1_with_contrast(r10, c, r1), s.tr_s, s.flip_deg)
        img += frac * m0_tex * sig
    n = shape[-1]
    cc = (np.arange(n) + 0.5) * 2.0 / n - 1.0
    x, y = np.meshgrid(cc, cc)
    bx, by, bxx, byy, bxy = spec.bias
    bias = np.exp(bx * x + by * y + bxx * (x**2 - 1 / 3) + byy * (y**2 - 1 / 3) + bxy * x * y)
    noise_free = img * bias * s.gain
    rng = np.random.default_rng(spec.noise_seed)
    sigma = spec.noise_sigma * s.gain
    noisy = np.hypot(noise_free + sigma * rng.standard_normal(shape), sigma * rng.standard_normal(shape))
    return PatientImages(noisy.astype(np.float32), noise_free.astype(np.float32), anat)


def _truth_row(spec: PatientSpec, split: str) -> dict[str, object]:
    k, s, a = spec.kinetics, spec.scanner, spec.anatomy
    row: dict[str, object] = {
        "patient_id": spec.patient_id,
        "split": split,
        "n_lesions": len(a.lesions),
        "fgt_ktrans": f"{k.tissues['fgt'].ktrans:.4f}",
        "bpe": k.bpe,
        "density": a.density,
        "injection_s": f"{spec.timing.injection_s:.1f}",
        "interval_s": f"{spec.timing.interval_s:.1f}",
        "tr_ms": f"{s.tr_s * 1e3:.2f}",
        "flip_deg": f"{s.flip_deg:g}",
        "fat_residual": f"{s.fat_residual:.3f}",
        "dose_scale": f"{s.dose_scale:.3f}",
        "gain": f"{s.gain:.1f}",
        "noise_sigma": f"{spec.noise_sigma:.6f}",
        "tesla": f"{s.tesla:g}",
    }
    if a.lesions:
        p, lp = k.lesions[0], a.lesions[0]
        row.update(
            curve_type=k.curve_types[0],
            lesion_shape=lp.shape,
            lesion_radius_mm=f"{lp.radius * 170.0:.1f}",
            ktrans=f"{p.ktrans:.4f}",
            ve=f"{p.ve:.3f}",
            vp=f"{p.vp:.3f}",
            kep=f"{p.kep:.3f}",
        )
    return row


def kinetics_record(spec: PatientSpec, images: PatientImages) -> dict[str, object] | None:
    """Mean lesion (first lesion's breast) and parenchyma signal per phase of the noisy images."""
    if not spec.anatomy.lesions or not images.lesion_mask.any():
        return None
    n = images.noisy.shape[-1]
    cols = (np.arange(n) + 0.5) * 2.0 / n - 1.0
    side = (np.sign(cols) == spec.anatomy.lesions[0].side)[None, None, :]
    lesion = images.lesion_mask & side
    paren = images.parenchyma_mask()
    if not lesion.any() or not paren.any():
        return None
    return {
        "patient_id": spec.patient_id,
        "curve_type": spec.kinetics.curve_types[0],
        "times": list(spec.timing.acquisition_times),
        "lesion": [float(v[lesion].mean()) for v in images.noisy],
        "parenchyma": [float(v[paren].mean()) for v in images.noisy],
    }


@dataclass
class PhantomResult:
    """What :func:`generate_phantom` wrote."""

    root: Path
    patients: list[PatientSpec]
    split: dict[str, str]
    n_images: int
    seconds: float
    kinetics: list[dict[str, object]] = field(default_factory=list)


def generate_phantom(out: Path, config: PhantomConfig, overwrite: bool = False, progress: bool = True) -> PhantomResult:
    """Generate the phantom into ``out`` (see ``layout`` for the files written)."""
    config.validate()
    out = Path(out)
    layout.prepare_output(out, overwrite)
    t0 = time.perf_counter()
    specs = [sample_patient(config, i) for i in range(config.patients)]
    phases = {s.patient_id: len(s.timing.acquisition_times) - 1 for s in specs}
    split = resolve_split(config.split, [s.patient_id for s in specs], default_seed=config.seed, phases=phases)
    from tqdm import tqdm

    n_images = 0
    records = []
    for spec in tqdm(specs, desc="phantom", unit="patient", disable=not progress, leave=False):
        images = simulate_patient(spec, config.size)
        sp = split[spec.patient_id]
        rec = kinetics_record(spec, images)
        if rec is not None:
            records.append(rec)
        scaled = layout.minmax_uint8(images.noisy) if config.intensity == "patient" else None
        for phase in range(images.noisy.shape[0]):
            vol = layout.minmax_uint8(images.noisy[phase]) if scaled is None else scaled[phase]
            for k, idx in enumerate(spec.slice_indices):
                layout.write_png(layout.image_path(out, sp, spec.patient_id, phase, idx), vol[k])
                n_images += 1
        for k, idx in enumerate(spec.slice_indices):
            mask = images.lesion_mask[k].astype(np.uint8) * 255
            layout.write_png(layout.mask_path(out, sp, spec.patient_id, idx), mask)
    layout.write_table(out / layout.METADATA_FILE, layout.METADATA_COLUMNS, (s.metadata_row() for s in specs))
    write_split_file(out / layout.SPLITS_FILE, split)
    layout.write_table(out / TRUTH_FILE, TRUTH_COLUMNS, (_truth_row(s, split[s.patient_id]) for s in specs))
    seconds = time.perf_counter() - t0
    layout.write_manifest(
        out,
        {
            "source": "phantom",
            "config": asdict(config),
            "patients": len(specs),
            "images": n_images,
            "splits": {sp: sum(v == sp for v in split.values()) for sp in layout.SPLITS},
        },
    )
    log.info("phantom: %d patients, %d images in %.1f s -> %s", len(specs), n_images, seconds, out)
    return PhantomResult(out, specs, split, n_images, seconds, records)
