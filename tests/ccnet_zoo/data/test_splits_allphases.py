"""The ``random-allphases`` split: test patients drawn among those with every phase, so that phase 4 has as many
test pairs as phase 1 (issue 11 item 5: >= 40 test pairs in every phase of the embedded default)."""

from __future__ import annotations

import collections

import pytest

from ccnet_zoo.data.errors import DataError
from ccnet_zoo.data.phantom.generator import PhantomConfig, sample_patient
from ccnet_zoo.data.splits import random_split, resolve_split


def _phases(cfg: PhantomConfig) -> dict[str, int]:
    specs = [sample_patient(cfg, i) for i in range(cfg.patients)]
    return {s.patient_id: len(s.timing.acquisition_times) - 1 for s in specs}


def test_table1_default_is_allphases_with_one_window_per_patient() -> None:
    from ccnet_zoo.reproduce.config import ReproduceConfig

    cfg = ReproduceConfig()
    assert (cfg.split, cfg.intensity, cfg.patients, cfg.slices, cfg.size) == ("random-allphases", "patient", 96, 4, 64)


def test_default_sized_phantom_gets_48_test_pairs_in_every_phase() -> None:
    from ccnet_zoo.reproduce.config import ReproduceConfig

    rc = ReproduceConfig()
    cfg = PhantomConfig(patients=rc.patients, slices=rc.slices, size=rc.size, seed=rc.seed)  # Table 1's phantom
    phases = _phases(cfg)
    pairs = {}
    for spec in ("random", "random-allphases"):
        split = resolve_split(spec, list(phases), 0, phases=phases)
        test = [p for p, s in split.items() if s == "test"]
        assert collections.Counter(split.values()) == {"train": 72, "validation": 12, "test": 12}
        pairs[spec] = [cfg.slices * sum(phases[p] >= k for p in test) for k in (1, 2, 3, 4)]
    assert pairs["random"][3] < 20  # the old default: phase 4 had 8 test pairs
    assert pairs["random-allphases"] == [48, 48, 48, 48]


def test_split_is_seeded_and_complete() -> None:
    phases = {f"P{i:02d}": 4 if i % 3 == 0 else 3 for i in range(30)}
    a = resolve_split("random-allphases:5", list(phases), phases=phases)
    assert a == resolve_split("random-allphases:5", list(phases), phases=phases)
    assert a != resolve_split("random-allphases:6", list(phases), phases=phases)
    assert set(a) == set(phases) and all(phases[p] == 4 for p, s in a.items() if s == "test")
    sizes = collections.Counter(random_split(list(phases)).values())
    assert collections.Counter(a.values()) == sizes
    with pytest.raises(DataError, match="needs the number of phases"):
        resolve_split("random-allphases", list(phases))
    with pytest.raises(DataError, match="only 1 patients have every phase"):
        resolve_split("random-allphases", list(phases), phases={p: 3 for p in phases} | {"P00": 4})
