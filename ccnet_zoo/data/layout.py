"""The on-disk layout shared by the phantom and the Duke preparation (CC-Net's ``ldm_data`` layout)::

    <root>/
      LDM_metadata.csv                  ';'-separated, METADATA_COLUMNS, one row per patient
      splits.csv                        ';'-separated: patient_id;split
      dataset.json                      provenance: source (phantom|duke), parameters, counts, version
      {train,validation,test}/
        <split>_A/<pid>_0000_slice<i>.png      pre-contrast slice i (uint8 grey)
        <split>_B/<pid>_000<k>_slice<i>.png    post-contrast phase k = 1..4, same slice i
        annotations/<pid>_0001_mask<i>.png     lesion mask of slice i (0/255)

Each phase volume is min-max normalised to 0..255 on its own (as CC-Net did; the phantom's
``intensity='patient'`` uses one window per patient across all phases instead); ``<i>`` is the slice index
in the source volume, not zero-padded.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.data.errors import DataError, OutputExistsError
from frd._files import replace_owned, replace_owned_text

SPLITS = ("train", "validation", "test")
METADATA_FILE = "LDM_metadata.csv"
SPLITS_FILE = "splits.csv"
MANIFEST_FILE = "dataset.json"
STATE_DIR = ".state"  # resumable runs keep per-patient records here
METADATA_COLUMNS = (
    "patient_id",
    "acquisition_times",
    "manufacturer",
    "scanner",
    "field_strength",
    "contrast_agent",
    "contrast_bolus_volume",
    "metastatic",
    "tumor_subtype",
    "tumor_histologic_type",
    "tumor_location",
    "tumor_bilateral",
    "age",
    "ethnicity",
    "text1",
    "text2",
    "text3",
)
IMAGE_RE = re.compile(r"^(?P<pid>.+)_(?P<phase>\d{4})_slice(?P<slice>\d+)\.png$")
MASK_RE = re.compile(r"^(?P<pid>.+)_0001_mask(?P<slice>\d+)\.png$")


def image_name(patient_id: str, phase: int, slice_index: int) -> str:
    """``Breast_MRI_001_0002_slice57.png`` for phase 2 of slice 57."""
    return f"{patient_id}_{phase:04d}_slice{slice_index}.png"


def mask_name(patient_id: str, slice_index: int) -> str:
    """``Breast_MRI_001_0001_mask57.png`` (CC-Net names masks after the first post phase)."""
    return f"{patient_id}_0001_mask{slice_index}.png"


def image_path(root: Path, split: str, patient_id: str, phase: int, slice_index: int) -> Path:
    """Where phase ``phase`` (0 = pre) of a slice lives."""
    sub = f"{split}_A" if phase == 0 else f"{split}_B"
    return root / split / sub / image_name(patient_id, phase, slice_index)


def mask_path(root: Path, split: str, patient_id: str, slice_index: int) -> Path:
    """Where the lesion mask of a slice lives."""
    return root / split / "annotations" / mask_name(patient_id, slice_index)


def minmax_uint8(volume: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Min-max normalise a whole volume to 0..255 and round (constant volumes map to 0).

    Given a patient's 4-D stack (phases, slices, H, W) this is one common window across pre and post phases,
    which keeps contrast enhancement visible; given one phase volume it is CC-Net's per-phase convention."""
    v = np.asarray(volume, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return np.zeros(v.shape, dtype=np.uint8)
    return np.rint((v - lo) / (hi - lo) * 255.0).astype(np.uint8)


def write_png(path: Path, image: NDArray[np.uint8]) -> None:
    """Write a uint8 grey PNG atomically (temporary file + rename)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="L")
    replace_owned(path, lambda tmp: img.save(tmp, format="PNG"))


def read_png(path: Path) -> NDArray[np.uint8]:
    """Read a grey PNG as uint8 (H, W)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.uint8)


def format_times(times: Iterable[int]) -> str:
    """``[0, 584, 714]`` — Duke's spelling of the acquisition-time list."""
    return "[" + ", ".join(str(int(t)) for t in times) + "]"


def parse_times(text: str) -> list[int]:
    """Inverse of :func:`format_times`."""
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise DataError(f"acquisition_times {text!r} is not a list like [0, 207, 325]")
    try:
        return [int(float(x)) for x in body[1:-1].split(",") if x.strip()]
    except ValueError as err:
        raise DataError(f"acquisition_times {text!r} is not a list of numbers") from err


def write_table(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, object]]) -> None:
    """Write a ';'-separated table atomically."""
    cols = list(columns)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=cols, delimiter=";", extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: row.get(c, "") for c in cols})

    replace_owned(path, write)


def read_table(path: Path, required: Iterable[str] = ()) -> list[dict[str, str]]:
    """Read a ';'-separated table as strings; raise DataError when a required column is missing."""
    if not path.is_file():
        raise DataError(f"{path} does not exist")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} lacks column(s) {', '.join(missing)} (is it ';'-separated?)")
        return [{k: (v or "") for k, v in row.items()} for row in reader]


def write_manifest(root: Path, manifest: Mapping[str, object]) -> None:
    """Write ``dataset.json``."""
    replace_owned_text(root / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_manifest(root: Path) -> dict[str, object] | None:
    """``dataset.json`` of ``root`` or None."""
    path = root / MANIFEST_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def owned_files(root: Path) -> list[Path]:
    """Files of ``root`` that this layout writes (images, masks, tables), for ``--overwrite`` clean-up."""
    found: list[Path] = [root / f for f in (METADATA_FILE, SPLITS_FILE, MANIFEST_FILE) if (root / f).is_file()]
    for split in SPLITS:
        for sub, pattern in ((f"{split}_A", IMAGE_RE), (f"{split}_B", IMAGE_RE), ("annotations", MASK_RE)):
            folder = root / split / sub
            if folder.is_dir():
                found += [p for p in folder.iterdir() if p.is_file() and pattern.match(p.name)]
    state = root / STATE_DIR
    if state.is_dir():
        found += [p for p in state.iterdir() if p.is_file() and p.suffix == ".json"]
    return found


def prepare_output(root: Path, overwrite: bool, resumable_source: str | None = None) -> bool:
    """Check that ``root`` may be written.

    Returns True when an unfinished run of the same source (``resumable_source``) is found and may be resumed.
    A finished dataset, or a folder holding anything else, raises :class:`OutputExistsError` unless
    ``overwrite``; with ``overwrite`` the files this layout owns are removed (nothing else is touched).
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise OutputExistsError(f"{root} exists and is not a folder")
    if not root.exists() or not any(root.iterdir()):
        return False
    manifest = read_manifest(root)
    if overwrite:
        for p in owned_files(root):
            p.unlink()
        return False
    if manifest is not None:
        raise OutputExistsError(f"{root} already holds a finished dataset; pass --overwrite to replace it")
    state = root / STATE_DIR
    if resumable_source is not None and (state / f"{resumable_source}.json").is_file():
        return True
    raise OutputExistsError(f"{root} is not empty; choose an empty folder or pass --overwrite")
