"""Pairing by patient/slice/phase from the file names, never by sort order."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccnet_zoo.metrics import ImageKey, PairingError, pair_images, parse_name


def test_parse_name() -> None:
    assert parse_name("Breast_MRI_001_0002_slice57.png") == ImageKey("Breast_MRI_001", 2, 57)
    assert parse_name("Breast_MRI_001_0002_slice57_synthetic.png") == ImageKey("Breast_MRI_001", 2, 57)
    assert parse_name("Breast_MRI_001_0001_mask57.png") is None
    assert parse_name("image_3.png") is None


def test_pairs_by_key_not_by_order(dataset: tuple[Path, Path, Path]) -> None:
    _, real, synth = dataset
    pairing = pair_images(real, synth)  # both phases at once: the generation folder has p1/ and p2/
    assert pairing.n == 18 and not pairing.unmatched_real and not pairing.unmatched_synth
    for p in pairing.pairs:
        assert p.real.name == p.synth.name and p.real_key == p.synth_key
    # file lists in opposite orders pair identically
    files_r = sorted(real.iterdir())
    files_s = sorted(synth.rglob("*.png"), reverse=True)
    again = pair_images(files_r, files_s, phase=2)
    expected = sorted((f.name for f in files_r if "_0002_" in f.name), key=parse_name)
    assert [(p.real.name, p.synth.name) for p in again.pairs] == [(n, n) for n in expected]


def test_sort_order_trap(tmp_path: Path) -> None:
    """slice10 sorts before slice9 as text; a name-agnostic zip would pair the wrong slices."""
    from ccnet_zoo.data.layout import image_name

    for folder, suffix in (("r", ""), ("s", "_synthetic")):
        (tmp_path / folder).mkdir()
        for sl in (9, 10):
            (tmp_path / folder / image_name("P", 1, sl).replace(".png", f"{suffix}.png")).write_bytes(b"")
    pairing = pair_images(sorted((tmp_path / "r").iterdir()), sorted((tmp_path / "s").iterdir(), reverse=True))
    assert [(p.real_key.slice_index, p.synth_key.slice_index) for p in pairing.pairs] == [(9, 9), (10, 10)]


def test_baseline_pairs_pre_with_phase(dataset: tuple[Path, Path, Path]) -> None:
    pre, real, _ = dataset
    pairing = pair_images(pre, real, phase=1, real_phase=0)
    assert pairing.n == 9
    for p in pairing.pairs:
        assert p.real_key.phase == 0 and p.synth_key.phase == 1
        assert (p.real_key.patient_id, p.real_key.slice_index) == (p.synth_key.patient_id, p.synth_key.slice_index)


def test_unmatched_reported_or_strict(dataset: tuple[Path, Path, Path]) -> None:
    _, real, synth = dataset
    (synth / "p1" / "Breast_MRI_001_0001_slice3.png").unlink()
    (synth / "p1" / "notes.png").write_bytes(b"")
    pairing = pair_images(real, synth, phase=1)
    assert pairing.n == 8
    assert [p.name for p in pairing.unmatched_real] == ["Breast_MRI_001_0001_slice3.png"]
    assert [p.name for p in pairing.unmatched_synth] == ["notes.png"]
    with pytest.raises(PairingError, match="without a partner"):
        pair_images(real, synth, phase=1, strict=True)


def test_errors(dataset: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, real, synth = dataset
    dup = synth / "copy"
    dup.mkdir()
    (dup / "Breast_MRI_002_0001_slice3.png").write_bytes(b"")
    with pytest.raises(PairingError, match="two synthetic files"):
        pair_images(real, synth)
    with pytest.raises(PairingError, match="no real/synthetic pair"):
        pair_images(real, synth / "p1", phase=3)
    with pytest.raises(PairingError, match="does not exist"):
        pair_images(tmp_path / "nope", synth)
