"""Finding images, pairing masks and reading pixels into SimpleITK images.

Reading follows the reference (``sitk.ReadImage(path, sitkFloat32)``) so that features match it,
with two deliberate fixes: RGBA is reduced to luminance without multiplying by alpha, and file
extensions are matched case-insensitively.
"""

from __future__ import annotations

import contextlib
import hashlib
import locale
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._lazy import sitk
from .defaults import IMAGE_EXTENSIONS, STATS_EXTENSION
from .errors import InputNotFoundError, InvalidImageError, MaskMismatchError, NoImagesError

log = logging.getLogger(__name__)

#: ITK's luminance weights (Rec. 709), as the reference's float32 read applies them to RGB.
LUMA_709 = (0.2125, 0.7154, 0.0721)

_IMAGE_IO = {
    ".png": "PNGImageIO",
    ".jpg": "JPEGImageIO",
    ".jpeg": "JPEGImageIO",
    ".bmp": "BMPImageIO",
    ".tif": "TIFFImageIO",
    ".tiff": "TIFFImageIO",
    ".nii": "NiftiImageIO",
    ".nii.gz": "NiftiImageIO",
    ".nrrd": "NrrdImageIO",
    ".nhdr": "NrrdImageIO",
    ".mha": "MetaImageIO",
    ".mhd": "MetaImageIO",
    ".dcm": "GDCMImageIO",
    ".dicom": "GDCMImageIO",
}


@contextlib.contextmanager
def keep_locale() -> Iterator[None]:
    """Restore the process locale afterwards: ITK's DICOM (GDCM) code can leave it at "C",
    after which other libraries' ``open()`` without an encoding decodes files as ASCII."""
    saved = locale.setlocale(locale.LC_ALL)
    try:
        yield
    finally:
        with contextlib.suppress(locale.Error):
            locale.setlocale(locale.LC_ALL, saved)


@dataclass(frozen=True)
class ImageRef:
    """One input image: a file, or a DICOM series (``files`` holds its slices in order).

    ``key`` is the path relative to the input folder without extension; masks pair on it.
    """

    path: str
    key: str
    files: tuple[str, ...] = ()
    #: An in-memory image (2D or 3D array) instead of a file; ``path`` is then a label.
    array: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def display(self) -> str:
        return self.path

    def content_hash(self) -> str:
        """sha256 over the bytes of every file of the image (or of the array, its shape and dtype)."""
        h = hashlib.sha256()
        if self.array is not None:
            arr = np.ascontiguousarray(self.array)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
            return h.hexdigest()
        for f in self.files or (self.path,):
            with open(f, "rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
        return h.hexdigest()

    def sha256(self) -> str:
        """sha256 of the image file's bytes (a series or an array: :meth:`content_hash`)."""
        if self.array is None and len(self.files) <= 1:
            with open(self.files[0] if self.files else self.path, "rb") as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()
        return self.content_hash()


def extension(path: str | Path) -> str:
    """Lower-cased extension, with ``.nii.gz`` as one extension."""
    name = str(path).lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return os.path.splitext(name)[1]


def strip_extension(rel: str) -> str:
    ext = extension(rel)
    return rel[: len(rel) - len(ext)] if ext else rel


def is_stats_file(path: str | Path) -> bool:
    return isinstance(path, (str, Path)) and Path(path).is_file() and extension(path) == STATS_EXTENSION


def _dicom_series(folder: Path, files: list[Path]) -> list[ImageRef]:
    """Group the DICOM files of one folder by series; a multi-file series is one volume."""
    refs: list[ImageRef] = []
    reader = sitk.ImageSeriesReader()
    seen: set[str] = set()
    with keep_locale():
        series = {
            sid: tuple(reader.GetGDCMSeriesFileNames(str(folder), sid))
            for sid in reader.GetGDCMSeriesIDs(str(folder)) or ()
        }
    for sid, names in series.items():
        seen.update(os.path.realpath(n) for n in names)
        if len(names) == 1:
            refs.append(ImageRef(path=names[0], key=""))
        else:
            refs.append(ImageRef(path=str(folder / sid), key="", files=names))
    # Files GDCM could not group are kept as single images, so a corrupt one is reported by name.
    refs.extend(ImageRef(path=str(f), key="") for f in files if os.path.realpath(f) not in seen)
    return refs


def discover(source: str | Path | Sequence[str | Path], recursive: bool = False) -> list[ImageRef]:
    """List the images of a folder (optionally recursive) or of an explicit list of files.

    Files are returned sorted by relative path; unsupported files are ignored with a debug log.
    """
    if isinstance(source, (str, Path)):
        root = Path(source)
        if not root.exists():
            raise InputNotFoundError(f"input not found: {root}")
        if root.is_file():
            return _from_list([root])
        if not root.is_dir():
            raise InvalidImageError(f"{root}: {_special(root)}")
        return _from_folder(root, recursive)
    return _from_list([Path(s) for s in source])


def _special(p: Path) -> str | None:
    """Why ``p`` is not a regular file to read (a FIFO or device would block or never end), or None."""
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        return f"cannot stat it ({exc.strerror})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not an image file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file, not an image file"
    return "not a regular file"


def _walk(root: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` that follows symlinked folders, each real folder once (no symlink loops)."""
    seen = {os.path.realpath(root)}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        keep = []
        for d in sorted(dirnames):
            real = os.path.realpath(os.path.join(dirpath, d))
            if real in seen:
                log.warning("not descending into %s: it leads to %s, searched already", os.path.join(dirpath, d), real)
                continue
            seen.add(real)
            keep.append(d)
        dirnames[:] = keep
        yield dirpath, dirnames, filenames


def _from_folder(root: Path, recursive: bool) -> list[ImageRef]:
    refs: list[ImageRef] = []
    walker: Iterable[tuple[str, list[str], list[str]]]
    walker = _walk(root) if recursive else [(str(root), [], os.listdir(root))]
    for dirpath, _dirnames, filenames in walker:
        folder = Path(dirpath)
        images, dicoms = [], []
        for name in sorted(filenames):
            p = folder / name
            if name.startswith("."):
                continue
            if not p.is_file():
                reason = _special(p) if not p.is_dir() else None
                if reason and extension(name) in IMAGE_EXTENSIONS:
                    log.warning("skipping %s: %s", p, reason)
                continue
            ext = extension(name)
            if ext in (".dcm", ".dicom"):
                dicoms.append(p)
            elif ext in IMAGE_EXTENSIONS:
                images.append(ImageRef(path=str(p), key=""))
            else:
                log.debug("ignoring %s: not a supported image extension", p)
        if dicoms:
            images.extend(_dicom_series(folder, dicoms))
        for ref in images:
            rel = os.path.relpath(ref.path, root)
            refs.append(ImageRef(path=ref.path, key=strip_extension(rel).replace(os.sep, "/"), files=ref.files))
    refs.sort(key=lambda r: r.key)
    if not refs:
        hint = "" if recursive else " (use --recursive to search subfolders)"
        raise NoImagesError(f"no supported images in {root}{hint}")
    return refs


def _from_list(paths: list[Path]) -> list[ImageRef]:
    refs: list[ImageRef] = []
    for p in paths:
        if not p.exists():
            raise InputNotFoundError(f"input not found: {p}")
        reason = _special(p)
        if reason:
            log.warning("skipping %s: %s", p, reason)
            continue
        if p.is_dir():
            # A folder inside a file list is one DICOM series.
            dicoms = sorted(f for f in p.iterdir() if f.is_file())
            series = _dicom_series(p, dicoms)
            if len(series) != 1:
                raise InvalidImageError(f"{p}: expected one DICOM series, found {len(series)}")
            refs.append(ImageRef(path=str(p), key=p.name, files=series[0].files or (series[0].path,)))
            continue
        if extension(p) not in IMAGE_EXTENSIONS:
            raise InvalidImageError(f"{p}: unsupported extension; supported: {', '.join(IMAGE_EXTENSIONS)}")
        refs.append(ImageRef(path=str(p), key=strip_extension(p.name)))
    if not refs:
        raise NoImagesError("the file list holds no image file" if paths else "the file list is empty")
    return refs


def pair_masks(images: list[ImageRef], masks: list[ImageRef], label: str = "") -> list[ImageRef]:
    """Pair each image with the mask of the same relative path (extension ignored)."""
    by_key: dict[str, ImageRef] = {}
    for m in masks:
        if m.key in by_key:
            raise MaskMismatchError(f"two masks for {m.key!r}: {by_key[m.key].path} and {m.path}")
        by_key[m.key] = m
    missing = [i.path for i in images if i.key not in by_key]
    extra = sorted(set(by_key) - {i.key for i in images})
    where = f" in set {label}" if label else ""
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise MaskMismatchError(f"no mask{where} for: {shown}")
    if extra:
        shown = ", ".join(by_key[k].path for k in extra[:5])
        raise MaskMismatchError(f"masks{where} without an image: {shown}")
    return [by_key[i.key] for i in images]


def _reader(path: str) -> sitk.ImageFileReader:
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    io = _IMAGE_IO.get(extension(path))
    if io:
        reader.SetImageIO(io)
    return reader


def _plain_png(path: str) -> tuple[np.ndarray, tuple[float, float]] | None:
    """Pixels and spacing of a plain 8/16-bit grey PNG read without SimpleITK (identical, faster), else None."""
    if extension(path) != ".png":
        return None
    from ._png import read_plain_png

    return read_plain_png(path)


def _image_from(plain: tuple[np.ndarray, tuple[float, float]], dtype: type | None) -> sitk.Image:
    """The SimpleITK image ITK's PNG reader gives for ``plain`` (cast to ``dtype`` as its output type would)."""
    arr, spacing = plain
    img = sitk.GetImageFromArray(arr if dtype is None else arr.astype(dtype))
    img.SetSpacing(spacing)
    return img


def _from_array(arr: np.ndarray, path: str) -> sitk.Image:
    if arr.dtype.kind not in "biuf" or arr.ndim not in (2, 3, 4):
        raise InvalidImageError(f"{path}: expected a 2D or 3D numeric array, got {arr.dtype} {arr.shape}")
    colour = arr.ndim in (3, 4) and arr.shape[-1] in (3, 4) and arr.ndim - 1 >= 2 and arr.shape[0] > 4
    if colour:
        arr = _luminance(arr[..., :3].astype(np.float64))
    elif arr.ndim == 4:
        raise InvalidImageError(f"{path}: 4D arrays are not images, got shape {arr.shape}")
    return sitk.GetImageFromArray(np.ascontiguousarray(arr, dtype=np.float32))


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * LUMA_709[0] + rgb[..., 1] * LUMA_709[1] + rgb[..., 2] * LUMA_709[2]


_TOOL_PREFIX = re.compile(r"^\[\w+\] ")  # "[nrrd] " before a library's own message
_ITK_MESSAGE = re.compile(r"^(?:sitk::ERROR:|itk::ERROR:|ITK ERROR:)\s*(?:\w+\(0x[0-9a-fA-F]+\):\s*)?")


def unreadable_reason(exc: BaseException) -> str:
    """The cause in an ITK exception, without its C++ source location."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for k, ln in enumerate(lines):
        m = _ITK_MESSAGE.match(ln)
        if m:
            text = ln[m.end() :]
            if text.endswith(":") and k + 1 < len(lines):  # the specific cause follows on the last line
                text = f"{text} {_TOOL_PREFIX.sub('', lines[-1])}"
            break
    else:
        text = next(
            (ln for ln in lines if ".cxx:" not in ln and not ln.startswith("Exception thrown in")),
            type(exc).__name__,
        )
    if "Unable to determine ImageIO reader" in text:
        text = "no image reader recognises its content (corrupt, truncated, or not the format its extension says)"
    return text[:300]


def _count_nan(img: sitk.Image, path: str, notes: list[str] | None) -> None:
    nan = int(np.isnan(sitk.GetArrayViewFromImage(img)).sum())
    if nan:
        note = f"{path}: {nan} NaN pixel(s) of {img.GetNumberOfPixels()}; radiomics features of it may be NaN"
        if notes is None:
            log.warning(note)
        else:
            notes.append(note)


def nifti_nonfinite(path: str) -> int:
    """Non-finite voxels stored in a float NIfTI-1/2 file (0 for other data types).

    ITK's NIfTI reader (niftilib) silently reads NaN and Inf as 0, so they are counted in the file.
    """
    import gzip

    opener = gzip.open if str(path).lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(540)
        if len(head) < 348:
            return 0
        for order in ("<", ">"):
            size = int(np.frombuffer(head[:4], f"{order}i4")[0])
            if size in (348, 540):
                break
        else:
            return 0
        if size == 348:
            dims = np.frombuffer(head[40:56], f"{order}i2").astype(np.int64)
            dtype_code = int(np.frombuffer(head[70:72], f"{order}i2")[0])
            offset = int(np.frombuffer(head[108:112], f"{order}f4")[0])
        else:
            dims = np.frombuffer(head[16:80], f"{order}i8")
            dtype_code = int(np.frombuffer(head[12:14], f"{order}i2")[0])
            offset = int(np.frombuffer(head[168:176], f"{order}i8")[0])
        kind = {16: "f4", 64: "f8"}.get(dtype_code)
        if kind is None or not 1 <= dims[0] <= 7:
            return 0
        count = int(np.prod(dims[1 : dims[0] + 1]))
        fh.seek(offset)
        data = np.frombuffer(fh.read(count * int(kind[1])), f"{order}{kind}")
    return int((~np.isfinite(data)).sum())


def read_image(ref: ImageRef | str, notes: list[str] | None = None) -> sitk.Image:
    """Read an image as float32 SimpleITK image, as the reference does.

    RGB is converted to luminance by ITK (Rec. 709); RGBA uses the same weights on RGB and
    ignores alpha (the reference multiplies by it); grey+alpha keeps the grey channel. NaN pixels
    are reported, with the file and their count, in ``notes`` (or logged when it is None).
    """
    ref = ref if isinstance(ref, ImageRef) else ImageRef(path=ref, key="")
    img = _read_image(ref)
    _count_nan(img, ref.path, notes)
    if ref.array is None and not ref.files and extension(ref.path) in (".nii", ".nii.gz"):
        try:
            bad = nifti_nonfinite(ref.path)
        except (OSError, EOFError, ValueError):  # ITK read it; a header we cannot parse only costs the check
            bad = 0
        if bad:
            note = (
                f"{ref.path}: {bad} NaN/Inf voxel(s) of {img.GetNumberOfPixels()} in the file; ITK's NIfTI "
                "reader reads them as 0 (so does the reference)"
            )
            if notes is None:
                log.warning(note)
            else:
                notes.append(note)
    return img


def _read_image(ref: ImageRef) -> sitk.Image:
    path = ref.path
    if ref.array is None and not ref.files and os.path.isfile(path) and os.path.getsize(path) == 0:
        raise InvalidImageError(f"cannot read {path}: the file is empty (0 bytes)")
    try:
        if ref.array is not None:
            return _from_array(np.asarray(ref.array), path)
        if ref.files:
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(list(ref.files))
            reader.SetOutputPixelType(sitk.sitkFloat32)
            with keep_locale():
                return reader.Execute()
        if extension(path) == ".npy":
            arr = np.load(path, allow_pickle=False)
            return _from_array(arr, path)
        plain = _plain_png(path)
        if plain is not None:
            return _image_from(plain, np.float32)
        reader = _reader(path)
        reader.ReadImageInformation()
        ncomp = reader.GetNumberOfComponents()
        if ncomp in (2, 4):
            img = reader.Execute()
            arr = sitk.GetArrayFromImage(img).astype(np.float64)
            grey = arr[..., 0] if ncomp == 2 else _luminance(arr[..., :3])
            out = sitk.GetImageFromArray(grey.astype(np.float32))
            out.CopyInformation(img)
            return out
        reader.SetOutputPixelType(sitk.sitkFloat32)
        return reader.Execute()
    except InvalidImageError:
        raise
    except (RuntimeError, ValueError, OSError) as exc:
        raise InvalidImageError(f"cannot read {path}: {unreadable_reason(exc)}") from exc


def read_mask(ref: ImageRef | str) -> sitk.Image:
    """Read a mask in its own pixel type (the reference reads masks without a cast)."""
    if isinstance(ref, str):
        ref = ImageRef(path=ref, key="")
    try:
        if extension(ref.path) == ".npy":
            return sitk.GetImageFromArray(np.load(ref.path, allow_pickle=False))
        if ref.files:
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(list(ref.files))
            return reader.Execute()
        plain = _plain_png(ref.path)
        if plain is not None:
            return _image_from(plain, None)
        return _reader(ref.path).Execute()
    except (RuntimeError, ValueError, OSError) as exc:
        raise InvalidImageError(f"cannot read mask {ref.path}: {unreadable_reason(exc)}") from exc


def image_dim(img: sitk.Image) -> int:
    """2 for a 2D image or a single-slice volume, 3 otherwise (as the reference decides)."""
    size = img.GetSize()
    if len(size) == 2 or (len(size) == 3 and size[2] == 1):
        return 2
    return 3
