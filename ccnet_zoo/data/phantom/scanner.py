"""Scanner, contrast agent and image-formation facts.

The counts are those of the 922 patients of the Duke-Breast-Cancer-MRI metadata used by CC-Net
(``LDM_metadata.csv``, columns ``manufacturer;scanner;field_strength;contrast_agent;contrast_bolus_volume``),
tabulated once and written here; the file itself is neither shipped nor read. Relaxivities are literature
values; sequence parameters, vendor gains, fat-suppression residuals and the noise/bias model are the
phantom's documented assumptions (docs/phantom.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (manufacturer, scanner model, field strength label) -> number of Duke patients (sum 922)
SCANNER_COUNTS: dict[tuple[str, str, str], int] = {
    ("GE Medical Systems", "Optima MR4502", "1.5T"): 98,
    ("GE Medical Systems", "SIGNA EXCITE", "3T"): 10,
    ("GE Medical Systems", "SIGNA HDx", "1.5T"): 53,
    ("GE Medical Systems", "SIGNA HDx", "3T"): 219,
    ("GE Medical Systems", "SIGNA HDxt", "1.5T"): 138,
    ("GE Medical Systems", "SIGNA HDxt", "3T"): 110,
    ("Siemens", "Avanto", "1.5T"): 179,
    ("Siemens", "Skyra", "3T"): 57,
    ("Siemens", "Trio", "2.89T"): 1,
    ("Siemens", "TrioTim", "3T"): 57,
}

# contrast agent label per manufacturer ("" = agent not recorded in the DICOM header)
AGENT_COUNTS: dict[str, dict[str, int]] = {
    "GE Medical Systems": {"MAGNEVIST": 405, "MULTIHANCE": 141, "": 71, "MMAGNEVIST": 10, "GADAVIST": 1},
    "Siemens": {"MAGNEVIST": 145, "MULTIHANCE": 122, "": 26, "GADAVIST": 1},
}

# recorded bolus volume (mL) per agent; "" = not recorded (71 % of Duke). Excel-mangled values of the
# source table ("13. Jun", "Nov 88", "14. Mai") are restored to 13.6, 11.88 and 14.5.
BOLUS_COUNTS: dict[str, dict[str, int]] = {
    "": {"": 95, "15": 1, "16": 1},
    "GADAVIST": {"": 1, "10": 1},
    "MAGNEVIST": {
        "": 406,
        "9": 1,
        "10": 3,
        "11": 11,
        "12": 12,
        "13": 7,
        "14": 13,
        "15": 18,
        "16": 7,
        "17": 13,
        "18": 13,
        "19": 12,
        "20": 34,
    },
    "MMAGNEVIST": {"": 10},
    "MULTIHANCE": {
        "": 141,
        "6": 1,
        "7": 1,
        "8": 2,
        "9": 2,
        "10": 6,
        "11": 7,
        "11.88": 1,
        "12": 15,
        "13": 20,
        "13.6": 1,
        "14": 12,
        "14.5": 1,
        "15": 12,
        "16": 10,
        "17": 7,
        "18": 5,
        "19": 4,
        "20": 15,
    },
}

# Gadolinium concentration of the formulations (mol/L). MMAGNEVIST is Duke's spelling variant of Magnevist.
AGENT_MOLARITY = {"MAGNEVIST": 0.5, "MMAGNEVIST": 0.5, "MULTIHANCE": 0.5, "GADAVIST": 1.0}
# r1 in plasma at 37 °C, 1/(mM s) (Rohrer et al., Invest Radiol 40:715, 2005); unknown agent -> Magnevist.
RELAXIVITY = {
    "MAGNEVIST": {1.5: 4.1, 3.0: 3.7},
    "MMAGNEVIST": {1.5: 4.1, 3.0: 3.7},
    "MULTIHANCE": {1.5: 6.3, 3.0: 5.5},
    "GADAVIST": {1.5: 5.2, 3.0: 5.0},
}


def field_tesla(label: str) -> float:
    """``"1.5T"`` -> 1.5."""
    return float(label.rstrip("Tt"))


def field_label(tesla: float) -> str:
    """1.5 -> ``"1.5T"``, 3.0 -> ``"3T"`` (Duke's spelling)."""
    return f"{float(tesla):g}T"


def relaxivity(agent: str, tesla: float) -> float:
    """r1 of ``agent`` at ``tesla`` (linear in field between the 1.5 T and 3 T values)."""
    table = RELAXIVITY.get(agent, RELAXIVITY["MAGNEVIST"])
    w = float(np.clip((tesla - 1.5) / 1.5, 0.0, 1.0))
    return (1 - w) * table[1.5] + w * table[3.0]


@dataclass(frozen=True)
class VendorProtocol:
    """Assumed fat-saturated 3D SPGR (GE VIBRANT / Siemens FL3D) protocol and image scaling of one vendor."""

    tr_ms: tuple[float, float]  # uniform range
    te_ms: float
    flips_deg: tuple[float, ...]
    flip_probs: tuple[float, ...]
    fat_residual: tuple[float, float]  # fraction of fat signal left after fat suppression
    gain: tuple[float, float]  # scanner units per unit of M0-normalised signal


VENDOR_PROTOCOLS = {
    "GE Medical Systems": VendorProtocol(
        (3.9, 6.9), 2.1, (10.0, 12.0, 15.0), (0.8, 0.1, 0.1), (0.04, 0.12), (6e3, 1.2e4)
    ),
    "Siemens": VendorProtocol((4.0, 5.0), 1.8, (10.0, 12.0), (0.9, 0.1), (0.10, 0.20), (1.5e4, 2.5e4)),
}

# Noise: complex Gaussian noise of standard deviation NOISE_SIGMA_1P5T (in units of M0) at 1.5 T, scaled by
# 1.5 T / B0 (SNR proportional to the field), times a per-patient coil-loading factor in NOISE_LOAD_RANGE.
NOISE_SIGMA_1P5T = 0.0016
NOISE_LOAD_RANGE = (0.85, 1.15)
# Bias field: exp(polynomial of degree 2) with coefficients N(0, BIAS_SD[field]) — stronger at 3 T (B1).
BIAS_SD = {1.5: 0.06, 3.0: 0.12}


def noise_sigma(tesla: float, load: float = 1.0) -> float:
    """Noise standard deviation (M0 units) at ``tesla``: ``NOISE_SIGMA_1P5T * 1.5 / B0 * load``."""
    return NOISE_SIGMA_1P5T * 1.5 / tesla * load


def bias_sd(tesla: float) -> float:
    """Standard deviation of the bias-field polynomial coefficients."""
    return BIAS_SD[3.0] if tesla > 2.0 else BIAS_SD[1.5]


@dataclass(frozen=True)
class ScannerDraw:
    """Scanner metadata of one virtual patient plus the hidden acquisition parameters."""

    manufacturer: str
    scanner: str
    field_strength: str
    contrast_agent: str
    contrast_bolus_volume: str  # as recorded ("" when Duke would not have it)
    dose_scale: float  # injected dose / 0.1 mmol/kg
    tr_s: float
    te_s: float
    flip_deg: float
    fat_residual: float
    gain: float
    noise_load: float

    @property
    def tesla(self) -> float:
        """Field strength in tesla."""
        return field_tesla(self.field_strength)


def _choice(rng: np.random.Generator, counts: dict) -> object:
    keys = list(counts)
    p = np.array([counts[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def sample_scanner(rng: np.random.Generator) -> ScannerDraw:
    """Draw vendor, model, field, agent and bolus with Duke's joint frequencies, plus protocol parameters."""
    manufacturer, scanner, field = _choice(rng, SCANNER_COUNTS)  # type: ignore[misc]
    agent = str(_choice(rng, AGENT_COUNTS[manufacturer]))
    bolus = str(_choice(rng, BOLUS_COUNTS[agent]))
    weight_kg = float(np.clip(rng.normal(75.0, 14.0), 45.0, 130.0))
    molarity = AGENT_MOLARITY.get(agent, 0.5)
    # recorded volume -> dose; otherwise the weight-based standard dose (volume not recorded)
    dose = float(bolus) * molarity / weight_kg if bolus else 0.1 * rng.uniform(0.9, 1.1)
    if agent == "GADAVIST" and not bolus:
        dose = 0.1
    proto = VENDOR_PROTOCOLS[manufacturer]
    flip = float(proto.flips_deg[int(rng.choice(len(proto.flips_deg), p=proto.flip_probs))])
    return ScannerDraw(
        manufacturer=manufacturer,
        scanner=scanner,
        field_strength=field,
        contrast_agent=agent,
        contrast_bolus_volume=bolus,
        dose_scale=float(np.clip(dose / 0.1, 0.5, 2.0)),
        tr_s=rng.uniform(*proto.tr_ms) / 1e3,
        te_s=proto.te_ms / 1e3,
        flip_deg=flip,
        fat_residual=rng.uniform(*proto.fat_residual),
        gain=rng.uniform(*proto.gain),
        noise_load=rng.uniform(*NOISE_LOAD_RANGE),
    )
