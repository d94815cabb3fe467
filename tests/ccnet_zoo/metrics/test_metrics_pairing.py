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


def test_real_phase_without_phase_pairs_each_synthetic_phase(dataset: tuple[Path, Path, Path]) -> None:
    """--real-phase 0 without --phase: one pair per synthetic image, the pre image reused per phase, none dropped."""
    pre, real, _ = dataset
    pairing = pair_images(pre, real, real_phase=0)
    assert pairing.n == 18 and not pairing.unmatched_real and not pairing.unmatched_synth
    keys = [(p.synth_key.patient_id, p.synth_key.phase, p.synth_key.slice_index) for p in pairing.pairs]
    assert len(set(keys)) == 18 and {k[1] for k in keys} == {1, 2}
    for p in pairing.pairs:
        assert p.real_key == ImageKey(p.synth_key.patient_id, 0, p.synth_key.slice_index)
        assert p.real.name == f"{p.synth_key.patient_id}_0000_slice{p.synth_key.slice_index}.png"


@pytest.mark.parametrize("phase", [None, 1, 2])
@pytest.mark.parametrize("real_phase", [None, 0, 1])
def test_every_option_combination_pairs_by_key(
    dataset: tuple[Path, Path, Path], phase: int | None, real_phase: int | None
) -> None:
    """Every pair is (patient, slice) equal, the synthetic phase is the selected one, the real phase the asked one."""
    pre, real, synth = dataset
    source = pre if real_phase == 0 else real
    target = real if real_phase == 0 else synth
    (target / ("p1" if target == synth else "") / "Breast_MRI_099_0001_slice7.png").write_bytes(b"")  # no partner
    pairing = pair_images(source, target, phase=phase, real_phase=real_phase)
    for p in pairing.pairs:
        assert (p.real_key.patient_id, p.real_key.slice_index) == (p.synth_key.patient_id, p.synth_key.slice_index)
        assert p.real_key.phase == (p.synth_key.phase if real_phase is None else real_phase)
        assert phase is None or p.synth_key.phase == phase
    assert len({p.synth for p in pairing.pairs}) == pairing.n  # no synthetic image used twice
    assert pairing.n == (9 if phase is not None else 18)  # one pair per selected synthetic image
    extra = [p.name for p in pairing.unmatched_synth]
    assert extra == (["Breast_MRI_099_0001_slice7.png"] if phase in (None, 1) else [])


def test_cli_lists_every_unpaired_file(dataset: tuple[Path, Path, Path]) -> None:
    from click.testing import CliRunner

    from ccnet_zoo.cli import main

    _, real, synth = dataset
    for name in ("Breast_MRI_001_0001_slice3.png", "Breast_MRI_002_0001_slice12.png"):
        (synth / "p1" / name).unlink()
    res = CliRunner().invoke(main, ["metrics", str(real), str(synth), "--phase", "1", "--metric", "mse"])
    assert res.exit_code == 0, res.output
    listed = sorted(line.split(": ", 1)[1] for line in res.output.splitlines() if line.startswith("unpaired real"))
    assert [Path(p).name for p in listed] == ["Breast_MRI_001_0001_slice3.png", "Breast_MRI_002_0001_slice12.png"]
