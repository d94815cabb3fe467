"""Clinical and demographic facts of Duke (922 patients) and a sampler for virtual patients.

Counts from Duke's CC-Net metadata (``metastatic;tumor_subtype;tumor_histologic_type;tumor_location;
tumor_bilateral;age;ethnicity``). Location, laterality and (with 5 exceptions) histology are blank together
for 271 patients; the phantom reproduces that missingness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (tumor_subtype, metastatic) joint counts
SUBTYPE_METASTATIC_COUNTS: dict[tuple[str, str], int] = {
    ("luminal-like", "non-metastatic"): 579,
    ("luminal-like", "metastatic"): 16,
    ("triple negative", "non-metastatic"): 161,
    ("triple negative", "metastatic"): 3,
    ("ER/PR positive, HER2 positive", "non-metastatic"): 99,
    ("ER/PR positive, HER2 positive", "metastatic"): 5,
    ("her2 positive", "non-metastatic"): 54,
    ("her2 positive", "metastatic"): 5,
}
# (tumor_location, tumor_bilateral) joint counts; ("", "") = not recorded
LOCATION_COUNTS: dict[tuple[str, str], int] = {
    ("", ""): 271,
    ("left", "unilateral"): 301,
    ("left", "bilateral"): 13,
    ("right", "unilateral"): 322,
    ("right", "bilateral"): 15,
}
# histologic type among patients with a recorded location (651)
HISTOLOGY_COUNTS: dict[str, int] = {
    "ductal": 575,
    "lobular": 63,
    "": 5,
    "mucinous": 4,
    "tubular": 2,
    "metaplastic": 1,
    "DCIS": 1,
}
ETHNICITY_COUNTS: dict[str, int] = {
    "white": 651,
    "black": 203,
    "": 19,
    "hispanic": 18,
    "asian": 14,
    "multi": 9,
    "indian american": 4,
    "native american": 3,
    "hawa": 1,
}
AGE_QUANTILE_LEVELS = (0, 1, 2.5, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 100)
AGE_QUANTILES = (21, 27, 32, 35, 38, 43, 46, 49, 52, 55, 58, 62, 67, 72, 75, 79, 89)


@dataclass(frozen=True)
class ClinicalDraw:
    """Clinical metadata columns of one virtual patient (Duke spelling, "" = not recorded)."""

    metastatic: str
    tumor_subtype: str
    tumor_histologic_type: str
    tumor_location: str
    tumor_bilateral: str
    age: str
    ethnicity: str


def _choice(rng: np.random.Generator, counts: dict) -> object:
    keys = list(counts)
    p = np.array([counts[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def sample_clinical(rng: np.random.Generator, has_lesion: bool = True) -> ClinicalDraw:
    """Draw the clinical fields; a lesion-free (control) patient gets blank tumour fields."""
    age = str(round(float(np.interp(100.0 * rng.uniform(), AGE_QUANTILE_LEVELS, AGE_QUANTILES))))
    ethnicity = str(_choice(rng, ETHNICITY_COUNTS))
    if not has_lesion:
        return ClinicalDraw("", "", "", "", "", age, ethnicity)
    subtype, metastatic = _choice(rng, SUBTYPE_METASTATIC_COUNTS)  # type: ignore[misc]
    location, bilateral = _choice(rng, LOCATION_COUNTS)  # type: ignore[misc]
    histology = str(_choice(rng, HISTOLOGY_COUNTS)) if location else ""
    return ClinicalDraw(metastatic, subtype, histology, location, bilateral, age, ethnicity)
