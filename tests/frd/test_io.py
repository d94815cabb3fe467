"""Reading every supported format, colour handling, discovery and mask pairing."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from frd import InvalidImageError, MaskMismatchError, NoImagesError
from frd.io import discover, image_dim, keep_locale, pair_masks, read_image

GREY = (np.arange(64 * 48).reshape(48, 64) % 251).astype(np.uint8)


def _write(path, arr, spacing=None, is_vector=False):
    img = sitk.GetImageFromArray(arr, isVector=is_vector)
    if spacing:
        img.SetSpacing(spacing)
    sitk.WriteImage(img, str(path))
    return path


@pytest.mark.parametrize("ext", [".png", ".PNG", ".bmp", ".tif", ".TIFF", ".nii", ".nii.gz", ".nrrd", ".mha", ".mhd"])
def test_each_format_reads_the_same_pixels(tmp_path, ext):
    p = _write(tmp_path / f"x{ext}", GREY)
    arr = sitk.GetArrayFromImage(read_image(str(p)))
    assert arr.dtype == np.float32
    np.testing.assert_array_equal(arr, GREY.astype(np.float32))
    assert image_dim(read_image(str(p))) == 2


def test_jpeg_is_read_lossy_but_close(tmp_path):
    p = _write(tmp_path / "x.JPG", GREY)
    arr = sitk.GetArrayFromImage(read_image(str(p)))
    assert arr.shape == GREY.shape and np.abs(arr - GREY).mean() < 10


def test_16bit_tiff_and_png_keep_their_values(tmp_path):
    arr16 = (np.arange(32 * 32).reshape(32, 32) * 60).astype(np.uint16)
    for ext in (".tif", ".png"):
        got = sitk.GetArrayFromImage(read_image(str(_write(tmp_path / f"y{ext}", arr16))))
        np.testing.assert_array_equal(got, arr16.astype(np.float32))


def test_npy_2d_and_3d(tmp_path):
    np.save(tmp_path / "a.npy", GREY)
    np.save(tmp_path / "v.npy", np.stack([GREY] * 5))
    assert image_dim(read_image(str(tmp_path / "a.npy"))) == 2
    assert image_dim(read_image(str(tmp_path / "v.npy"))) == 3


def test_rgb_uses_itk_luminance_and_rgba_ignores_alpha(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[...] = (200, 100, 50)
    rgba = np.concatenate([rgb, np.full((8, 8, 1), 128, np.uint8)], axis=2)
    a = sitk.GetArrayFromImage(read_image(str(_write(tmp_path / "rgb.png", rgb, is_vector=True))))
    b = sitk.GetArrayFromImage(read_image(str(_write(tmp_path / "rgba.png", rgba, is_vector=True))))
    assert a[0, 0] == pytest.approx(0.2125 * 200 + 0.7154 * 100 + 0.0721 * 50, rel=1e-6)  # 117.645
    assert b[0, 0] == pytest.approx(a[0, 0], rel=1e-6)  # the reference gives 15058.56 (x alpha)


def _write_series(vol: np.ndarray, folder) -> None:
    img = sitk.GetImageFromArray(vol)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(vol.shape[0]):
        sl = img[:, :, z]
        sl.SetMetaData("0020|000e", "1.2.826.0.1.3680043.2.1125.1")
        sl.SetMetaData("0020|0013", str(z + 1))
        sl.SetMetaData("0020|0032", f"0\\0\\{z}")
        sl.SetMetaData("0020|0037", "1\\0\\0\\0\\1\\0")
        writer.SetFileName(str(folder / f"slice{z}.dcm"))
        writer.Execute(sl)


def test_dicom_single_file_and_series_folder(tmp_path):
    vol = np.stack([GREY.astype(np.int16) + 10 * z for z in range(4)])
    series = tmp_path / "dcm" / "s1"
    series.mkdir(parents=True)
    with keep_locale():  # ITK's DICOM writer leaves the process locale at "C"
        _write_series(vol, series)
    refs = discover(tmp_path / "dcm", recursive=True)
    assert len(refs) == 1 and len(refs[0].files) == 4
    got = read_image(refs[0])
    assert image_dim(got) == 3
    np.testing.assert_array_equal(sitk.GetArrayFromImage(got), vol.astype(np.float32))
    single = read_image(str(series / "slice0.dcm"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(single).squeeze(), vol[0].astype(np.float32))


def test_reading_dicom_keeps_the_process_locale(tmp_path):
    import locale

    with keep_locale():
        _write_series(np.zeros((3, 8, 8), np.int16), tmp_path)
    before = locale.setlocale(locale.LC_ALL)
    [ref] = discover(tmp_path)
    read_image(ref)
    assert locale.setlocale(locale.LC_ALL) == before


def test_discovery_recursive_and_case_insensitive(tmp_path):
    _write(tmp_path / "a.PNG", GREY)
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "b.png", GREY)
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert [r.key for r in discover(tmp_path)] == ["a"]
    assert [r.key for r in discover(tmp_path, recursive=True)] == ["a", "sub/b"]


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(NoImagesError, match="no supported images"):
        discover(tmp_path)
    with pytest.raises(FileNotFoundError):
        discover(tmp_path / "nope")


def test_corrupt_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(InvalidImageError, match=r"bad\.png"):
        read_image(str(bad))


def test_masks_pair_by_relative_path_not_sort_order(tmp_path):
    imgs, masks = tmp_path / "i", tmp_path / "m"
    for d in (imgs, masks):
        d.mkdir()
    for name in ("b", "a", "c"):
        _write(imgs / f"{name}.png", GREY)
    # masks with other extensions and an order that differs from the images' sort order
    _write(masks / "c.nrrd", GREY)
    _write(masks / "a.png", GREY)
    _write(masks / "b.mha", GREY)
    pairs = pair_masks(discover(imgs), discover(masks))
    assert [p.path.rsplit("/", 1)[1] for p in pairs] == ["a.png", "b.mha", "c.nrrd"]


def test_missing_and_extra_masks_are_named(tmp_path):
    imgs, masks = tmp_path / "i", tmp_path / "m"
    for d in (imgs, masks):
        d.mkdir()
    _write(imgs / "a.png", GREY)
    _write(imgs / "b.png", GREY)
    _write(masks / "a.png", GREY)
    with pytest.raises(MaskMismatchError, match=r"b\.png"):
        pair_masks(discover(imgs), discover(masks))
    _write(masks / "b.png", GREY)
    _write(masks / "z.png", GREY)
    with pytest.raises(MaskMismatchError, match=r"z\.png"):
        pair_masks(discover(imgs), discover(masks))
