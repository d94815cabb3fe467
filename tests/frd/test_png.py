"""The plain-PNG reader (OpenCV) gives exactly what SimpleITK's PNG reader gives, or steps aside.

Every case compares ``frd.io.read_image``/``read_mask`` with SimpleITK reading the same file (the
reference's ``sitk.ReadImage``): pixel type, pixels, spacing, origin and direction; files whose
chunks could make ITK differ must go to SimpleITK, and damaged files must fail with SimpleITK's
error, word for word.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

import frd.io
from frd import InvalidImageError, MaskMismatchError
from frd._png import read_plain_png
from frd.io import ImageRef, read_image, read_mask


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


Chunks = list[tuple[bytes, bytes]]


def _png(arr: np.ndarray, before: Chunks = (), after: Chunks = (), **ihdr) -> bytes:
    """A grey PNG of ``arr`` (uint8/uint16), filter 0 on every row, with extra chunks before/after IDAT."""
    depth = 16 if arr.dtype == np.uint16 else 8
    fields = {"depth": depth, "colour": 0, "interlace": 0} | ihdr
    h, w = arr.shape
    header = struct.pack(">IIBBBBB", w, h, fields["depth"], fields["colour"], 0, 0, fields["interlace"])
    rows = arr.astype(">u2" if depth == 16 else np.uint8)
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(h))
    body = _chunk(b"IHDR", header) + b"".join(_chunk(k, b) for k, b in before)
    body += _chunk(b"IDAT", zlib.compress(raw)) + b"".join(_chunk(k, b) for k, b in after)
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def _same_as_simpleitk(path: Path) -> None:
    got, ref = read_image(str(path)), sitk.ReadImage(str(path), sitk.sitkFloat32)
    assert got.GetPixelID() == ref.GetPixelID()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(got), sitk.GetArrayViewFromImage(ref))
    assert (got.GetSpacing(), got.GetOrigin(), got.GetDirection()) == (
        ref.GetSpacing(),
        ref.GetOrigin(),
        ref.GetDirection(),
    )
    mask, mref = read_mask(str(path)), sitk.ReadImage(str(path))
    assert mask.GetPixelID() == mref.GetPixelID()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(mask), sitk.GetArrayViewFromImage(mref))
    assert mask.GetSpacing() == mref.GetSpacing()


SIZES = [(1, 1), (1, 9), (9, 1), (3, 5), (255, 257)]


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_plain_grey_pngs_read_exactly_as_simpleitk(tmp_path, bits, size) -> None:
    rng = np.random.default_rng(bits + size[0] * 1000 + size[1])
    arr = rng.integers(0, 2**bits, size).astype(np.uint8 if bits == 8 else np.uint16)
    writers = {
        "sitk": lambda p: sitk.WriteImage(sitk.GetImageFromArray(arr), str(p)),  # writes sCAL 1, 1
        "cv2": lambda p: __import__("cv2").imwrite(str(p), arr),
        "text-and-phys": lambda p: p.write_bytes(
            _png(arr, before=[(b"pHYs", struct.pack(">IIB", 11811, 5905, 1)), (b"tEXt", b"k\x00v")])
        ),
        "scal": lambda p: p.write_bytes(_png(arr, before=[(b"sCAL", b"\x01.35\x002.5e-1")])),
    }
    for name, write in writers.items():
        path = tmp_path / f"{name}.png"
        write(path)
        assert read_plain_png(path) is not None, name  # the fast path is taken
        _same_as_simpleitk(path)


def test_scal_spacing_is_itks(tmp_path) -> None:
    img = sitk.GetImageFromArray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    img.SetSpacing((0.3, 1e-3))
    sitk.WriteImage(img, str(tmp_path / "s.png"))
    assert read_plain_png(tmp_path / "s.png")[1] == (0.3, 1e-3)
    _same_as_simpleitk(tmp_path / "s.png")


ARR = (np.arange(6 * 7).reshape(6, 7) * 5).astype(np.uint8)


@pytest.mark.parametrize(
    "kind, data",
    [
        ("palette", _png(ARR, before=[(b"PLTE", bytes(range(256)) * 3)], colour=3)),
        ("trns", _png(ARR, before=[(b"tRNS", b"\x00\x05")])),  # ITK adds an alpha channel
        ("sbit", _png(ARR, before=[(b"sBIT", b"\x05")])),  # ITK shifts the values
        ("gamma", _png(ARR, before=[(b"gAMA", struct.pack(">I", 45455))])),
        ("interlaced", _png(ARR, interlace=1)),
        ("scal-after-data", _png(ARR, after=[(b"sCAL", b"\x012\x002")])),
        ("scal-negative", _png(ARR, before=[(b"sCAL", b"\x01-2\x002")])),
        ("after-iend", _png(ARR) + b"trailing"),
        ("bad-crc", _png(ARR)[:-5] + b"\x00" + _png(ARR)[-4:]),
    ],
)
def test_files_itk_could_read_otherwise_go_to_simpleitk(tmp_path, kind, data) -> None:
    path = tmp_path / f"{kind}.png"
    path.write_bytes(data)
    assert read_plain_png(path) is None


def test_other_bit_depths_and_colour_go_to_simpleitk(tmp_path) -> None:
    from PIL import Image

    Image.fromarray(ARR > 100).save(tmp_path / "bits1.png")
    Image.fromarray(np.stack([ARR, ARR], -1), "LA").save(tmp_path / "la.png")
    Image.fromarray(np.stack([ARR, ARR // 2, ARR // 3], -1)).save(tmp_path / "rgb.png")
    for name in ("bits1", "rgb"):
        assert read_plain_png(tmp_path / f"{name}.png") is None, name
    _same_as_simpleitk(tmp_path / "bits1.png")


@pytest.mark.parametrize("bits", [8, 16])
def test_grey_alpha_keeps_the_grey_channel_where_itk_cannot_read_it(tmp_path, bits) -> None:
    """ITK (and so the reference) fails on grey+alpha PNGs ("Unknown PixelType"); frd keeps the grey channel."""
    dtype = np.uint16 if bits == 16 else np.uint8
    grey = (ARR.astype(np.uint32) * (257 if bits == 16 else 1)).astype(dtype)
    alpha = np.full_like(grey, 7)
    h, w = grey.shape
    pairs = np.stack([grey, alpha], -1).astype(">u2" if bits == 16 else np.uint8)
    raw = b"".join(b"\x00" + pairs[y].tobytes() for y in range(h))
    header = struct.pack(">IIBBBBB", w, h, bits, 4, 0, 0, 0)
    path = tmp_path / "la.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")
    )
    with pytest.raises(RuntimeError, match="PixelType"):
        sitk.ReadImage(str(path))
    got = read_image(str(path))
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(got), grey.astype(np.float32))
    assert got.GetSpacing() == (1.0, 1.0) and got.GetOrigin() == (0.0, 0.0)
    mask = read_mask(str(path))  # keep the image alive while its array view is read
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(mask), grey)


def _corruptions(good: bytes) -> dict[str, bytes]:
    idat = good.index(b"IDAT")
    flipped = bytearray(good)
    flipped[idat + 30] ^= 0xFF
    fixed = bytearray(flipped)
    (length,) = struct.unpack(">I", good[idat - 4 : idat])
    fixed[idat + 4 + length : idat + 8 + length] = struct.pack(">I", zlib.crc32(bytes(fixed[idat : idat + 4 + length])))
    h, w = ARR.shape
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + ARR[y].tobytes() for y in range(h))

    def with_data(data: bytes) -> bytes:
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")

    return {
        "truncated": good[: len(good) // 2],
        "flipped-byte": bytes(flipped),  # the CRC catches it
        "flipped-byte-crc-fixed": bytes(fixed),  # zlib or libpng does
        "short-data": with_data(zlib.compress(raw[: len(raw) // 2])),
        "bad-filter": with_data(zlib.compress(b"\x09" + raw[1:])),
        "not-a-png": b"GIF89a" + bytes(100),
    }


def test_damaged_files_fail_with_simpleitks_error(tmp_path, monkeypatch) -> None:
    """A damaged PNG fails as before the fast reader: the same typed error, the same one-line message."""
    good = _png(np.tile(ARR, (8, 8)))
    for name, data in _corruptions(good).items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        with pytest.raises(InvalidImageError) as fast:
            read_image(str(path))
        with monkeypatch.context() as m:
            m.setattr(frd.io, "_plain_png", lambda _path: None)
            with pytest.raises(InvalidImageError) as slow:
                read_image(str(path))
        assert str(fast.value) == str(slow.value), name
        assert "\n" not in str(fast.value) and path.name in str(fast.value)


def test_a_mask_of_another_size_is_still_refused(tmp_path) -> None:
    from frd.extract import extract_image
    from frd.settings import resolve_settings

    (tmp_path / "img.png").write_bytes(_png(np.tile(ARR, (4, 4))))
    (tmp_path / "mask.png").write_bytes(_png(np.ones((10, 10), np.uint8)))
    assert read_plain_png(tmp_path / "mask.png") is not None
    with pytest.raises(MaskMismatchError, match=r"mask\.png has size \(10, 10\)"):
        extract_image(
            ImageRef(path=str(tmp_path / "img.png"), key="img"),
            ImageRef(path=str(tmp_path / "mask.png"), key="img"),
            resolve_settings("v1"),
        )


def test_features_equal_with_either_reader(tmp_path, monkeypatch) -> None:
    """The same 16-bit PNG with a spacing (sCAL) gives bit-identical v0 features through either reader."""
    from frd.extract import extract_image
    from frd.settings import resolve_settings

    rng = np.random.default_rng(5)
    arr = (rng.random((40, 36)) * 4000).astype(np.uint16)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.5, 0.8))
    sitk.WriteImage(img, str(tmp_path / "x.png"))
    ref = ImageRef(path=str(tmp_path / "x.png"), key="x")
    settings = resolve_settings("v0")
    names, fast, _ = extract_image(ref, None, settings)
    with monkeypatch.context() as m:
        m.setattr(frd.io, "_plain_png", lambda _path: None)
        names_slow, slow, _ = extract_image(ref, None, settings)
    assert names == names_slow
    np.testing.assert_array_equal(fast, slow)
