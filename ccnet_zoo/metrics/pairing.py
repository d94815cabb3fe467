"""Pair real and synthetic images by (patient, slice, phase) from their file names — never by sort order.

Names follow :mod:`ccnet_zoo.data.layout`: ``<pid>_000<k>_slice<i>.png`` (``ccnet-zoo generate`` writes the real
image's name; CC-Net's own ``..._synthetic.png`` suffix is accepted too). Folders are searched recursively, so a
generation folder with ``p1..p4`` sub-folders pairs with ``test/test_B`` phase by phase.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ccnet_zoo.metrics.errors import PairingError

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^(?P<pid>.+)_(?P<phase>\d{4})_slice(?P<slice>\d+)(?:_synthetic)?\.png$", re.IGNORECASE)
Source = str | Path | Sequence[str | Path]


@dataclass(frozen=True, order=True)
class ImageKey:
    """Which image a file is: patient, DCE phase (0 = pre-contrast) and slice index."""

    patient_id: str
    phase: int
    slice_index: int


@dataclass(frozen=True)
class Pair:
    """A real image and the synthetic image of the same patient and slice."""

    real: Path
    synth: Path
    real_key: ImageKey
    synth_key: ImageKey


@dataclass
class Pairing:
    """The pairs (sorted by patient, phase, slice) and the files left without a partner."""

    pairs: list[Pair]
    unmatched_real: list[Path] = field(default_factory=list)
    unmatched_synth: list[Path] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.pairs)


def parse_name(name: str) -> ImageKey | None:
    """``Breast_MRI_001_0002_slice57.png`` -> ImageKey('Breast_MRI_001', 2, 57); None for other names."""
    m = NAME_RE.match(name)
    if m is None:
        return None
    return ImageKey(m["pid"], int(m["phase"]), int(m["slice"]))


def _files(source: Source) -> list[Path]:
    if isinstance(source, (str, Path)):
        root = Path(source)
        if root.is_file():
            return [root]
        if not root.is_dir():
            raise PairingError(f"{root} does not exist")
        return [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".png" and not p.name.startswith(".")]
    files = [Path(p) for p in source]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise PairingError(f"{len(missing)} file(s) not found, e.g. {missing[0]}")
    return files


def _index(files: Iterable[Path], phase: int | None, side: str) -> tuple[dict[ImageKey, Path], list[Path]]:
    out: dict[ImageKey, Path] = {}
    ignored: list[Path] = []
    for p in files:
        key = parse_name(p.name)
        if key is None:
            ignored.append(p)
            continue
        if phase is not None and key.phase != phase:
            continue
        if key in out:
            raise PairingError(f"two {side} files for {key}: {out[key]} and {p}")
        out[key] = p
    return out, ignored


def pair_images(
    real: Source, synth: Source, *, phase: int | None = None, real_phase: int | None = None, strict: bool = False
) -> Pairing:
    """Pair the images of ``real`` and ``synth`` (folders, searched recursively, or lists of files).

    Every synthetic image ``(patient, phase k, slice)`` is paired with the real image ``(patient, k, slice)``, or
    with ``(patient, real_phase, slice)`` when ``real_phase`` is given — e.g. the pre-contrast baseline
    ``pair_images(test_A, test_B, phase=k, real_phase=0)``. ``phase`` keeps only that synthetic phase. Without
    ``phase``, ``real_phase`` pairs one real image with the synthetic image of *each* phase of that patient and
    slice (one pair per synthetic image, never collapsed). Files of other phases than the selected ones are left
    out by request; every selected file without a partner (and every unparsable name) is listed in
    :attr:`Pairing.unmatched_real` / :attr:`Pairing.unmatched_synth`. With ``strict`` they raise
    :class:`PairingError` instead.
    """
    rphase = real_phase if real_phase is not None else phase
    r_index, r_bad = _index(_files(real), rphase, "real")
    s_index, s_bad = _index(_files(synth), phase, "synthetic")
    pairs: list[Pair] = []
    used: set[ImageKey] = set()
    unmatched_synth = list(s_bad)
    for skey in sorted(s_index):
        rkey = ImageKey(skey.patient_id, skey.phase if real_phase is None else real_phase, skey.slice_index)
        if rkey in r_index:
            pairs.append(Pair(r_index[rkey], s_index[skey], rkey, skey))
            used.add(rkey)
        else:
            unmatched_synth.append(s_index[skey])
    unmatched_real = list(r_bad) + [p for key, p in r_index.items() if key not in used]
    result = Pairing(pairs, sorted(unmatched_real), sorted(unmatched_synth))
    if not pairs:
        raise PairingError(
            f"no real/synthetic pair found (names like <pid>_000<k>_slice<i>.png; phase={phase}, real_phase={rphase})"
        )
    if result.unmatched_real or result.unmatched_synth:
        msg = (
            f"{len(result.unmatched_real)} real and {len(result.unmatched_synth)} synthetic file(s) without a "
            f"partner, e.g. {(result.unmatched_real + result.unmatched_synth)[0]}"
        )
        if strict:
            raise PairingError(msg)
        log.warning("%s; they are left out", msg)
    return result
