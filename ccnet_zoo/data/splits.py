"""Patient splits: CC-Net's paper split, seeded random splits and split files.

A split spec is one of
* ``"paper"`` — CC-Net's ``split1602``: 30 test patients (with Caballo et al. masks), 50 validation
  patients, every other patient in train (ccnet ``move_data_for_dataset_split.py``);
* ``"random"`` or ``"random:SEED"`` — seeded shuffle with :data:`DEFAULT_FRACTIONS` (validation, test);
* ``"random-allphases"`` or ``"random-allphases:SEED"`` — the same sizes, but test patients are drawn only among
  the patients with the most post-contrast phases (given as ``phases``), so every phase has as many test pairs as
  phase 1 (Duke-like data has a fourth phase for under half of the patients);
* a path to a split file: ';'-separated ``patient_id;split`` (patients not listed go to train).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ccnet_zoo.data.errors import DataError
from ccnet_zoo.data.layout import SPLITS, read_table, write_table

log = logging.getLogger(__name__)

PAPER_TEST = tuple(
    f"Breast_MRI_{i:03d}"
    for i in (
        9,
        41,
        45,
        48,
        64,
        97,
        163,
        183,
        260,
        268,
        287,
        307,
        356,
        368,
        377,
        378,
        387,
        412,
        414,
        431,
        568,
        618,
        633,
        640,
        642,
        662,
        684,
        778,
        799,
        907,
    )
)
PAPER_VALIDATION = tuple(
    f"Breast_MRI_{i:03d}"
    for i in (
        1,
        441,
        180,
        780,
        847,
        860,
        298,
        884,
        61,
        735,
        428,
        424,
        558,
        407,
        236,
        202,
        693,
        687,
        99,
        290,
        746,
        22,
        218,
        233,
        283,
        386,
        614,
        160,
        832,
        916,
        104,
        28,
        176,
        789,
        69,
        120,
        328,
        101,
        240,
        539,
        114,
        107,
        306,
        585,
        616,
        136,
        694,
        883,
        408,
        865,
    )
)
DEFAULT_FRACTIONS = (0.125, 0.125)  # validation, test


def paper_split(patient_ids: Iterable[str]) -> dict[str, str]:
    """CC-Net's split1602 restricted to ``patient_ids`` (others -> train)."""
    test, val = set(PAPER_TEST), set(PAPER_VALIDATION)
    return {p: "test" if p in test else "validation" if p in val else "train" for p in patient_ids}


def random_split(
    patient_ids: Iterable[str], seed: int = 0, fractions: tuple[float, float] = DEFAULT_FRACTIONS
) -> dict[str, str]:
    """Seeded split with ``fractions`` = (validation, test); at least one patient each when n >= 3."""
    ids = sorted(set(patient_ids))
    val_f, test_f = fractions
    if val_f < 0 or test_f < 0 or val_f + test_f >= 1:
        raise DataError(f"split fractions {fractions} must be >= 0 and sum to less than 1")
    n = len(ids)
    n_val, n_test = round(n * val_f), round(n * test_f)
    if n >= 3:
        n_val, n_test = max(n_val, 1 if val_f > 0 else 0), max(n_test, 1 if test_f > 0 else 0)
    order = np.random.default_rng(seed).permutation(n)
    out = {}
    for rank, i in enumerate(order):
        out[ids[i]] = "test" if rank < n_test else "validation" if rank < n_test + n_val else "train"
    return out


def all_phases_split(
    phases: Mapping[str, int], seed: int = 0, fractions: tuple[float, float] = DEFAULT_FRACTIONS
) -> dict[str, str]:
    """:func:`random_split`'s sizes, with the test patients drawn among those having ``max(phases)`` phases."""
    full = sorted(p for p, k in phases.items() if k == max(phases.values()))
    sizes = random_split(sorted(phases), seed, fractions)
    n_test = sum(v == "test" for v in sizes.values())
    if len(full) < n_test:
        raise DataError(f"only {len(full)} patients have every phase; {n_test} test patients are needed")
    rng = np.random.default_rng(seed)
    test = {full[i] for i in rng.permutation(len(full))[:n_test]}
    rest = random_split([p for p in phases if p not in test], seed + 1, (fractions[0] / (1 - fractions[1]), 0.0))
    return {p: "test" if p in test else rest[p] for p in phases}


def read_split_file(path: Path) -> dict[str, str]:
    """Read ``patient_id;split``; split names must be train, validation or test."""
    rows = read_table(Path(path), required=("patient_id", "split"))
    out = {}
    for row in rows:
        if row["split"] not in SPLITS:
            raise DataError(f"{path}: split {row['split']!r} of {row['patient_id']} is not one of {SPLITS}")
        out[row["patient_id"]] = row["split"]
    return out


def write_split_file(path: Path, split: Mapping[str, str]) -> None:
    """Write ``patient_id;split`` sorted by patient id."""
    write_table(Path(path), ("patient_id", "split"), ({"patient_id": p, "split": split[p]} for p in sorted(split)))


def resolve_split(
    spec: str, patient_ids: Sequence[str], default_seed: int = 0, phases: Mapping[str, int] | None = None
) -> dict[str, str]:
    """Turn a split spec (see module docstring) into ``{patient_id: split}`` for ``patient_ids``.

    ``phases`` (post-contrast phases per patient) is needed by ``random-allphases`` only.
    """
    if spec == "random-allphases" or spec.startswith("random-allphases:"):
        if phases is None:
            raise DataError(f"split spec {spec!r} needs the number of phases per patient")
        seed = default_seed
        if ":" in spec:
            try:
                seed = int(spec.split(":", 1)[1])
            except ValueError as err:
                raise DataError(f"split spec {spec!r}: the seed must be an integer") from err
        out = all_phases_split({p: phases[p] for p in patient_ids}, seed)
    elif spec == "paper":
        out = paper_split(patient_ids)
    elif spec == "random" or spec.startswith("random:"):
        seed = default_seed
        if ":" in spec:
            try:
                seed = int(spec.split(":", 1)[1])
            except ValueError as err:
                raise DataError(f"split spec {spec!r}: the seed must be an integer") from err
        out = random_split(patient_ids, seed)
    else:
        path = Path(spec)
        if not path.is_file():
            raise DataError(f"split {spec!r} is neither 'paper', 'random[:SEED]' nor an existing split file")
        listed = read_split_file(path)
        unknown = sorted(set(listed) - set(patient_ids))
        if unknown:
            log.warning("split file %s lists %d unknown patient(s), e.g. %s", path, len(unknown), unknown[0])
        out = {p: listed.get(p, "train") for p in patient_ids}
    counts = {s: sum(v == s for v in out.values()) for s in SPLITS}
    log.info("split %s: %s", spec, counts)
    return out
