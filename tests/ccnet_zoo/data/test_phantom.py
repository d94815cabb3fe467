"""The phantom: Duke facts, determinism and the physics the acceptance criteria ask for."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ccnet_zoo.data import layout
from ccnet_zoo.data.errors import DataError, OutputExistsError
from ccnet_zoo.data.phantom.acquisition import DUKE_PHASE_MEDIANS_S, sample_timing
from ccnet_zoo.data.phantom.generator import (
    PatientSpec,
    PhantomConfig,
    generate_phantom,
    sample_patient,
    simulate_patient,
)
from ccnet_zoo.data.phantom.kinetics import ToftsParams
from ccnet_zoo.data.phantom.scanner import SCANNER_COUNTS, sample_scanner
from ccnet_zoo.data.prompts import text1

CFG = PhantomConfig(patients=40, slices=3, size=64, seed=11)


@pytest.fixture(scope="module")
def cohort() -> list[tuple[PatientSpec, object]]:
    specs = [sample_patient(CFG, i) for i in range(CFG.patients)]
    return [(s, simulate_patient(s, CFG.size)) for s in specs]


def _means(images, mask: np.ndarray, noise_free: bool = True) -> np.ndarray:
    vol = images.noise_free if noise_free else images.noisy
    return np.array([v[mask].mean() for v in vol])


def _visible(spec: PatientSpec, images) -> bool:
    return bool(spec.anatomy.lesions) and bool(_lesion0_mask(spec, images).sum() >= 3)


def _lesion0_mask(spec: PatientSpec, images) -> np.ndarray:
    n = images.noisy.shape[-1]
    cols = (np.arange(n) + 0.5) * 2.0 / n - 1.0
    return images.lesion_mask & (np.sign(cols) == spec.anatomy.lesions[0].side)[None, None, :]


def test_scanner_frequencies_follow_duke() -> None:
    rng = np.random.default_rng(0)
    draws = Counter((s.manufacturer, s.scanner, s.field_strength) for s in (sample_scanner(rng) for _ in range(4000)))
    total = sum(SCANNER_COUNTS.values())
    for key, count in SCANNER_COUNTS.items():
        expected = count / total
        assert abs(draws[key] / 4000 - expected) < 4 * np.sqrt(expected * (1 - expected) / 4000) + 1e-3, key


def test_acquisition_times_follow_duke_medians() -> None:
    rng = np.random.default_rng(1)
    times = [sample_timing(rng, 4).acquisition_times for _ in range(3000)]
    med = np.median(np.array(times), axis=0)
    assert med[0] == 0
    for k in (1, 2, 3):
        assert abs(med[k] - DUKE_PHASE_MEDIANS_S[k]) < 15, (k, med)
    assert all(np.all(np.diff(t) > 0) for t in times)


def test_patients_are_deterministic_and_size_independent() -> None:
    a, b = sample_patient(CFG, 3), sample_patient(CFG, 3)
    assert a == b
    assert sample_patient(dataclasses.replace(CFG, size=96), 3) == a
    np.testing.assert_array_equal(simulate_patient(a, 32).noisy, simulate_patient(b, 32).noisy)
    assert sample_patient(dataclasses.replace(CFG, seed=12), 3) != a


def test_pre_contrast_carries_no_contrast(cohort) -> None:
    """Phase 0 is acquired before the bolus: it does not change with the contrast kinetics while every post phase
    does, and before contrast a lesion is no brighter than the fibroglandular tissue around it."""
    usable = [(s, im) for s, im in cohort if _visible(s, im) and im.parenchyma_mask().any()]
    assert len(usable) >= 5, "the cohort must hold lesions beside parenchyma, or this test checks nothing"
    spec, images = usable[0]
    k = spec.kinetics
    boosted = dataclasses.replace(
        k,
        tissues={n: ToftsParams(p.ktrans * 3, p.ve, min(p.vp * 1.5, 0.9)) for n, p in k.tissues.items()},
        lesions=tuple(ToftsParams(p.ktrans * 2, p.ve, p.vp) for p in k.lesions),
    )
    other = simulate_patient(dataclasses.replace(spec, kinetics=boosted), CFG.size)
    np.testing.assert_array_equal(other.noise_free[0], images.noise_free[0])  # pre identical whatever the kinetics
    np.testing.assert_array_equal(other.noisy[0], images.noisy[0])
    assert len(images.noise_free) >= 3
    for phase in range(1, len(images.noise_free)):  # every post phase does change
        assert not np.allclose(other.noise_free[phase], images.noise_free[phase]), phase
    lesion = _lesion0_mask(spec, images)
    assert _means(other, lesion)[1] > _means(images, lesion)[1]  # faster uptake: brighter after contrast only
    ratios = [_means(im, _lesion0_mask(s, im))[0] / _means(im, im.parenchyma_mask())[0] for s, im in usable]
    assert max(ratios) < 1.3, ratios


def test_lesion_enhances_more_than_parenchyma_at_phase1(cohort) -> None:
    checked = 0
    for spec, images in cohort:
        if not _visible(spec, images) or not images.parenchyma_mask().any():
            continue
        lesion = _means(images, _lesion0_mask(spec, images))
        paren = _means(images, images.parenchyma_mask())
        assert lesion[1] / lesion[0] - 1 > paren[1] / paren[0] - 1, spec.patient_id
        checked += 1
    assert checked >= 20


def test_curve_types_washout_falls_persistent_rises(cohort) -> None:
    seen = Counter()
    for spec, images in cohort:
        if not _visible(spec, images):
            continue
        ctype = spec.kinetics.curve_types[0]
        s = _means(images, _lesion0_mask(spec, images), noise_free=False)[1:]  # noisy images, post phases
        seen[ctype] += 1
        if ctype == "washout":
            peak = int(np.argmax(s))
            assert peak < len(s) - 1 and s[-1] < 0.92 * s[peak], (spec.patient_id, s)
        elif ctype == "persistent":
            assert np.all(np.diff(s) > 0) and s[-1] > 1.08 * s[0], (spec.patient_id, s)
        else:
            assert abs(s[-1] / s[0] - 1) < 0.12, (spec.patient_id, s)
    assert seen["washout"] and seen["persistent"] and seen["plateau"], seen


def test_noise_scales_with_field_strength(cohort) -> None:
    spec, _ = cohort[0]
    measured = {}
    for label in ("1.5T", "3T"):
        s = dataclasses.replace(spec, scanner=dataclasses.replace(spec.scanner, field_strength=label))
        images = simulate_patient(s, 64)
        air = sum(images.anatomy.fractions.values()) == 0
        sigma = np.sqrt(np.mean(images.noisy[:, air] ** 2) / 2.0) / s.scanner.gain  # Rayleigh background
        assert sigma == pytest.approx(s.noise_sigma, rel=0.05)
        measured[label] = sigma
    assert measured["1.5T"] / measured["3T"] == pytest.approx(2.0, rel=0.07)


def test_config_validation() -> None:
    with pytest.raises(DataError):
        PhantomConfig(post_phases=5).validate()
    with pytest.raises(DataError):
        PhantomConfig(size=8).validate()
    with pytest.raises(DataError):
        PhantomConfig(curve_type_probs={"washout": 1.0}).validate()
    with pytest.raises(DataError, match="intensity"):
        PhantomConfig(intensity="volume").validate()


def test_patient_intensity_window_keeps_enhancement_visible(tmp_path: Path) -> None:
    """intensity="patient": one min-max window over the patient's pre and post phases (Table 1's default);
    "phase" (CC-Net's and the Duke adapter's convention) scales every phase volume to 0..255 on its own."""
    cfg = PhantomConfig(patients=6, slices=2, size=32, seed=3, lesion_fraction=1.0, intensity="patient")
    res = generate_phantom(tmp_path / "p", cfg, progress=False)
    per_phase = generate_phantom(tmp_path / "q", dataclasses.replace(cfg, intensity="phase"), progress=False)
    rises = []
    for spec in res.patients:
        sp, n = res.split[spec.patient_id], len(spec.timing.acquisition_times)

        def stack(root: Path, split: str, pid: str = spec.patient_id, n: int = n, idx=spec.slice_indices) -> np.ndarray:
            return np.array(
                [[layout.read_png(layout.image_path(root, split, pid, k, i)) for i in idx] for k in range(n)]
            )

        img = stack(res.root, sp)
        expected = layout.minmax_uint8(simulate_patient(spec, cfg.size).noisy)
        assert np.array_equal(img, expected)
        assert img.min() == 0 and img.max() == 255  # over the whole patient, not per phase
        assert not all(img[k].max() == 255 for k in range(n))
        other = stack(per_phase.root, per_phase.split[spec.patient_id])
        assert all(other[k].min() == 0 and other[k].max() == 255 for k in range(n))
        mask = np.array(
            [layout.read_png(layout.mask_path(res.root, sp, spec.patient_id, i)) > 127 for i in spec.slice_indices]
        )
        if mask.any():
            rises.append(img[1][mask].mean() - img[0][mask].mean())
    assert rises and np.mean(rises) > 10  # lesions enhance in the stored grey levels (per-phase scaling hides it)


def test_written_dataset_layout(small_phantom) -> None:
    root = small_phantom.root
    rows = layout.read_table(root / layout.METADATA_FILE, layout.METADATA_COLUMNS)
    assert (root / layout.METADATA_FILE).read_text().splitlines()[0] == ";".join(layout.METADATA_COLUMNS)
    assert len(rows) == 12
    for spec, row in zip(small_phantom.patients, rows, strict=True):
        sp = small_phantom.split[spec.patient_id]
        assert row["text1"] == text1(row) and row["text3"].startswith(row["text2"])
        times = layout.parse_times(row["acquisition_times"])
        assert times[0] == 0 and 3 <= len(times) <= 5
        for idx in spec.slice_indices:
            for phase in range(len(times)):
                img = layout.read_png(layout.image_path(root, sp, spec.patient_id, phase, idx))
                assert img.shape == (48, 48)
            mask = layout.read_png(layout.mask_path(root, sp, spec.patient_id, idx))
            assert set(np.unique(mask)) <= {0, 255}
        # each phase volume is min-max normalised on its own
        vol = [layout.read_png(layout.image_path(root, sp, spec.patient_id, 1, i)) for i in spec.slice_indices]
        assert np.max(vol) == 255 and np.min(vol) == 0
    assert set(small_phantom.split.values()) == {"train", "validation", "test"}


def test_refuses_to_overwrite_then_overwrites(tmp_path: Path) -> None:
    cfg = PhantomConfig(patients=2, slices=2, size=24)
    generate_phantom(tmp_path / "d", cfg, progress=False)
    with pytest.raises(OutputExistsError):
        generate_phantom(tmp_path / "d", cfg, progress=False)
    (tmp_path / "mine.txt").write_text("user file")
    with pytest.raises(OutputExistsError):
        generate_phantom(tmp_path, cfg, progress=False)  # non-empty folder that is not a dataset
    user = tmp_path / "d" / "notes.txt"
    user.write_text("keep me")
    generate_phantom(tmp_path / "d", dataclasses.replace(cfg, seed=1), overwrite=True, progress=False)
    assert user.read_text() == "keep me"


@pytest.mark.slow
def test_64_patients_at_64px_in_seconds(tmp_path: Path) -> None:
    """64 patients x 8 slices at 64 px: every image written, in seconds of CPU time (about 8 s on one core here;
    CPU time, not wall time, so that other jobs on a shared machine do not make it fail)."""
    t0 = time.process_time()
    result = generate_phantom(tmp_path / "p", PhantomConfig(patients=64, size=64), progress=False)
    cpu = time.process_time() - t0
    assert len(result.patients) == 64
    expected = sum(len(p.slice_indices) * len(p.timing.acquisition_times) for p in result.patients)
    assert expected >= 64 * 8 * 3  # 8 slices, the pre-contrast + 2-4 post phases each
    pngs = [p for p in (tmp_path / "p").rglob("*.png") if p.parent.name != "annotations"]
    assert result.n_images == expected == len(pngs)
    assert {layout.read_png(p).shape for p in pngs[:: max(1, len(pngs) // 20)]} == {(64, 64)}
    assert cpu < 30.0, f"{cpu:.1f} s of CPU time"
