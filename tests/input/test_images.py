"""Tests of emoscope.input.images: read_image / read_image_bytes. All fixtures are generated here."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from emoscope.errors import InputError
from emoscope.input import MAX_IMAGE_PIXELS, read_image, read_image_bytes

# --------------------------------------------------------------------------------------------- helpers


def _colour(rng: np.random.Generator, h: int = 30, w: int = 50) -> np.ndarray:
    """Smooth random BGR picture (h, w, 3) uint8."""
    coarse = rng.integers(0, 256, (5, 5, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def _pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png(width: int, height: int, idat: bytes, bit_depth: int = 1, colour_type: int = 0) -> bytes:
    """A PNG written by hand: signature, IHDR claiming ``width`` x ``height``, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _blank_1bit_png(width: int, height: int) -> bytes:
    """A real, complete 1-bit black PNG of any size, made cheaply (all-zero rows compress to almost nothing)."""
    row = 1 + (width + 7) // 8  # filter byte + packed bits
    return _png(width, height, zlib.compress(bytes(row * height), 6))


def _raises(call, *words: str) -> InputError:
    """Run ``call``, expect InputError, check each word is in the message; return the error."""
    with pytest.raises(InputError) as info:
        call()
    msg = str(info.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    return info.value


# ------------------------------------------------------------------------------------ valid images


def test_colour_png_is_exact_bgr(tmp_path: Path, rng: np.random.Generator, write_image) -> None:
    src = _colour(rng)
    p = write_image(tmp_path / "c.png", src)
    out = read_image(p)
    assert out.dtype == np.uint8 and out.shape == (30, 50, 3)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, src)  # PNG is lossless and the channel order is BGR


def test_accepts_str_and_pathlike(tmp_path: Path, rng: np.random.Generator, write_image) -> None:
    src = _colour(rng)
    p = write_image(tmp_path / "c.png", src)
    np.testing.assert_array_equal(read_image(str(p)), read_image(p))


def test_channel_order_is_bgr(tmp_path: Path) -> None:
    p = tmp_path / "red.png"
    Image.new("RGB", (4, 3), (255, 0, 0)).save(p)
    out = read_image(p)
    assert out.shape == (3, 4, 3)
    assert (out == [0, 0, 255]).all()


def test_colour_jpeg(tmp_path: Path, rng: np.random.Generator, write_image) -> None:
    src = _colour(rng)
    p = write_image(tmp_path / "c.jpg", src)
    out = read_image(p)
    assert out.dtype == np.uint8 and out.shape == src.shape
    assert np.abs(out.astype(int) - src).mean() < 4


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_grey_file_colour_and_grey_output(tmp_path: Path, make_face, write_image, suffix: str) -> None:
    src = make_face(40)
    p = write_image(tmp_path / f"g{suffix}", src)
    colour = read_image(p)
    grey = read_image(p, grey=True)
    assert colour.shape == (40, 40, 3) and colour.dtype == np.uint8
    assert grey.shape == (40, 40) and grey.dtype == np.uint8 and grey.flags.c_contiguous
    for c in range(3):
        np.testing.assert_array_equal(colour[:, :, c], grey)
    if suffix == ".png":
        np.testing.assert_array_equal(grey, src)
    else:
        assert np.abs(grey.astype(int) - src).mean() < 3


def test_grey_true_on_colour_image(tmp_path: Path, rng: np.random.Generator, write_image) -> None:
    src = _colour(rng)
    p = write_image(tmp_path / "c.png", src)
    grey = read_image(p, grey=True)
    assert grey.ndim == 2 and grey.dtype == np.uint8 and grey.shape == (30, 50)
    np.testing.assert_array_equal(grey, cv2.cvtColor(src, cv2.COLOR_BGR2GRAY))


def test_non_square_shape_is_height_width(tmp_path: Path) -> None:
    p = tmp_path / "wide.png"
    Image.new("L", (70, 20), 9).save(p)
    assert read_image(p).shape == (20, 70, 3)
    assert read_image(p, grey=True).shape == (20, 70)


@pytest.mark.parametrize("suffix", [".bmp", ".tiff"])
def test_other_lossless_formats(tmp_path: Path, rng: np.random.Generator, write_image, suffix: str) -> None:
    src = _colour(rng)
    p = write_image(tmp_path / f"c{suffix}", src)
    np.testing.assert_array_equal(read_image(p), src)


def test_format_detected_from_content_not_name(tmp_path: Path, rng: np.random.Generator) -> None:
    src = _colour(rng)
    ok, enc = cv2.imencode(".png", src)
    p = tmp_path / "actually_a_png.jpg"
    p.write_bytes(enc.tobytes())
    np.testing.assert_array_equal(read_image(p), src)


def test_rgba_alpha_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[0, 1] = (0, 0, 0, 0)  # fully transparent black -> white
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    rgba[1, :] = (0, 255, 0, 255)  # opaque green
    p = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(p)
    out = read_image(p).astype(int)
    assert out.shape == (2, 3, 3)
    assert (out[0, 0] == [0, 0, 255]).all()
    assert (out[0, 1] == [255, 255, 255]).all()
    assert (np.abs(out[0, 2] - 127) <= 1).all()
    assert (out[1] == [0, 255, 0]).all()
    grey = read_image(p, grey=True)
    assert grey.shape == (2, 3) and grey[0, 1] == 255


def test_la_alpha_composited_on_white(tmp_path: Path) -> None:
    la = np.array([[[0, 0], [0, 255], [100, 255], [200, 0]]], np.uint8)  # (1, 4, 2): L, A
    p = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(p)
    assert Image.open(p).mode == "LA"
    grey = read_image(p, grey=True)
    assert grey.tolist() == [[255, 0, 100, 255]]
    colour = read_image(p)
    assert colour.shape == (1, 4, 3)
    assert colour[0, :, 0].tolist() == [255, 0, 100, 255]


def test_palette_with_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (3, 1))
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    img.putdata([0, 1, 2])
    p = tmp_path / "pal.png"
    img.save(p, transparency=0)
    reopened = Image.open(p)
    assert reopened.mode == "P" and "transparency" in reopened.info
    out = read_image(p)
    assert out[0].tolist() == [[255, 255, 255], [0, 0, 255], [0, 255, 0]]


def test_palette_without_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (3, 1))
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    img.putdata([0, 1, 2])
    p = tmp_path / "pal.png"
    img.save(p)
    out = read_image(p)
    assert out[0].tolist() == [[0, 0, 0], [0, 0, 255], [0, 255, 0]]


def test_gif_palette(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 255, 255, 255, 0] + [0] * (256 * 3 - 6))
    img.putdata([0, 1])
    p = tmp_path / "a.gif"
    img.save(p)
    assert read_image(p)[0].tolist() == [[255, 0, 0], [0, 255, 255]]


def test_16bit_grey_png(tmp_path: Path) -> None:
    a = np.array([[0, 257 * 100, 65535], [257 * 10, 257 * 200, 257 * 255]], np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(a).save(p)
    assert Image.open(p).mode.startswith("I;16")
    grey = read_image(p, grey=True)
    assert grey.dtype == np.uint8 and grey.shape == (2, 3)
    assert grey.tolist() == [[0, 100, 255], [10, 200, 255]]
    colour = read_image(p)
    assert colour.shape == (2, 3, 3) and colour.dtype == np.uint8
    np.testing.assert_array_equal(colour[:, :, 1], grey)


def test_16bit_constant_image_keeps_its_level(tmp_path: Path) -> None:
    p = tmp_path / "g16.png"
    Image.fromarray(np.full((3, 3), 257 * 77, np.uint16)).save(p)
    assert (read_image(p, grey=True) == 77).all()


def test_float_tiff_is_stretched_to_0_255(tmp_path: Path) -> None:
    a = np.linspace(-1.0, 3.0, 12, dtype=np.float32).reshape(3, 4)
    p = tmp_path / "f.tiff"
    Image.fromarray(a, "F").save(p)
    assert Image.open(p).mode == "F"
    grey = read_image(p, grey=True)
    assert grey.dtype == np.uint8 and grey.shape == (3, 4)
    assert grey.min() == 0 and grey.max() == 255
    assert (np.diff(grey.ravel().astype(int)) >= 0).all()


def test_1bit_image(tmp_path: Path) -> None:
    bits = np.indices((4, 6)).sum(axis=0) % 2 == 1  # checkerboard
    p = tmp_path / "b.png"
    Image.fromarray(bits).save(p)
    assert Image.open(p).mode == "1"
    grey = read_image(p, grey=True)
    assert grey.dtype == np.uint8 and grey.shape == (4, 6)
    np.testing.assert_array_equal(grey, np.where(bits, 255, 0))
    colour = read_image(p)
    assert colour.shape == (4, 6, 3)
    np.testing.assert_array_equal(colour[:, :, 2], grey)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    img = Image.new("CMYK", (16, 8), (0, 0, 0, 0))  # white
    img.paste((0, 255, 255, 0), (0, 0, 8, 8))  # red on the left half
    p = tmp_path / "cmyk.jpg"
    img.save(p, "JPEG", quality=95)
    assert Image.open(p).mode == "CMYK"
    out = read_image(p).astype(int)
    assert out.shape == (8, 16, 3)
    assert (np.abs(out[4, 2] - [0, 0, 255]) <= 12).all()  # BGR red
    assert (np.abs(out[4, 13] - [255, 255, 255]) <= 12).all()
    assert read_image(p, grey=True).shape == (8, 16)


# -------------------------------------------------------------------------------------- EXIF orientation

# stored picture: H=40, W=60, a red marker in the stored top-left corner.
# orientation -> (shape after correction, corner where the marker must end up)
_ORIENTATIONS = {
    1: ((40, 60), "TL"),
    2: ((40, 60), "TR"),  # mirrored horizontally
    3: ((40, 60), "BR"),  # rotated 180
    4: ((40, 60), "BL"),  # mirrored vertically
    5: ((60, 40), "TL"),  # transposed
    6: ((60, 40), "TR"),  # stored rotated: display = rotate 90 clockwise
    7: ((60, 40), "BR"),  # transversed
    8: ((60, 40), "BL"),  # display = rotate 90 counter-clockwise
}


def _exif_jpeg(orientation: int) -> bytes:
    img = Image.new("RGB", (60, 40), (255, 255, 255))
    img.paste((255, 0, 0), (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _pil_bytes(img, "JPEG", quality=95, exif=exif.tobytes())


def _red_corners(bgr: np.ndarray) -> list[str]:
    h, w = bgr.shape[:2]
    patches = {"TL": bgr[1:6, 1:6], "TR": bgr[1:6, w - 6 : w - 1], "BL": bgr[h - 6 : h - 1, 1:6],
               "BR": bgr[h - 6 : h - 1, w - 6 : w - 1]}  # fmt: skip
    out = []
    for name, patch in patches.items():
        b, g, r = (patch[:, :, k].astype(int).mean() for k in range(3))
        if r > 200 and g < 60 and b < 60:
            out.append(name)
    return out


@pytest.mark.parametrize("orientation", sorted(_ORIENTATIONS))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    shape, corner = _ORIENTATIONS[orientation]
    p = tmp_path / f"o{orientation}.jpg"
    p.write_bytes(_exif_jpeg(orientation))
    assert Image.open(p).getexif().get(0x0112) == orientation
    out = read_image(p)
    assert out.shape == (*shape, 3)
    assert _red_corners(out) == [corner]
    assert read_image(p, grey=True).shape == shape


def test_exif_orientation_6_from_bytes_and_grey() -> None:
    data = _exif_jpeg(6)
    out = read_image_bytes(data)
    assert out.shape == (60, 40, 3)
    assert _red_corners(out) == ["TR"]
    grey = read_image_bytes(data, grey=True)
    assert grey.shape == (60, 40)
    assert grey[2:6, 35:38].mean() < 120 and grey[50:55, 5:10].mean() > 240  # marker dark in grey, rest white


def test_invalid_exif_orientation_leaves_picture_as_stored() -> None:
    out = read_image_bytes(_exif_jpeg(9))
    assert out.shape == (40, 60, 3)
    assert _red_corners(out) == ["TL"]


# ---------------------------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.jpg"
    e = _raises(lambda: read_image(p), "nope.jpg", "does not exist")
    assert e.path == str(p) and e.problem == "file does not exist"


def test_directory(tmp_path: Path) -> None:
    d = tmp_path / "folder.jpg"
    d.mkdir()
    _raises(lambda: read_image(d), "folder.jpg", "directory")


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    _raises(lambda: read_image(p), "empty.jpg", "empty", "0 bytes")


def test_text_file_named_jpg(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a picture\n" * 10)
    _raises(lambda: read_image(p), "notes.jpg", "not an image")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path) -> None:
    p = tmp_path / "locked.png"
    Image.new("L", (2, 2)).save(p)
    p.chmod(0)
    try:
        _raises(lambda: read_image(p), "locked.png", "cannot be read")
    finally:
        p.chmod(0o644)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file(tmp_path: Path, rng: np.random.Generator, suffix: str) -> None:
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # incompressible, so half the file is half the data
    ok, enc = cv2.imencode(suffix, noise)
    data = enc.tobytes()
    p = tmp_path / f"cut{suffix}"
    p.write_bytes(data[: len(data) // 2])
    _raises(lambda: read_image(p), f"cut{suffix}", "corrupt or truncated")


def test_bytes_errors_use_name() -> None:
    _raises(lambda: read_image_bytes(b""), "<bytes>", "empty")
    _raises(lambda: read_image_bytes(b"GIF89a-garbage", name="upload.gif"), "upload.gif", "not an image")


def test_bytes_valid_roundtrip(rng: np.random.Generator) -> None:
    src = _colour(rng)
    ok, enc = cv2.imencode(".png", src)
    np.testing.assert_array_equal(read_image_bytes(enc.tobytes()), src)
    np.testing.assert_array_equal(read_image_bytes(enc.tobytes(), grey=True), cv2.cvtColor(src, cv2.COLOR_BGR2GRAY))


def test_max_pixels_limit_is_inclusive(tmp_path: Path) -> None:
    p = tmp_path / "small.png"
    Image.new("L", (8, 8), 5).save(p)
    assert read_image(p, max_pixels=64).shape == (8, 8, 3)
    _raises(lambda: read_image(p, max_pixels=63), "small.png", "too large", "8x8", "64 pixels", "limit 63")


def test_handmade_png_helper_makes_real_pngs() -> None:
    # the helper below is used for the huge images: check it writes PNGs that decode
    out = read_image_bytes(_blank_1bit_png(21, 13), grey=True)
    assert out.shape == (13, 21) and (out == 0).all()


def test_header_claiming_huge_size_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    p.write_bytes(_png(100_000, 100_000, zlib.compress(b"")))  # 10^10 pixels claimed, a few bytes of data
    assert p.stat().st_size < 100
    _raises(lambda: read_image(p), "bomb.png", "too large")
    # even with a generous limit, Pillow's own bomb check still stops it, and it is still an InputError
    _raises(lambda: read_image(p, max_pixels=10**12), "bomb.png", "too large")


def test_large_real_png_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "big.png"
    p.write_bytes(_blank_1bit_png(10_000, 10_000))  # a complete 10^8-pixel image, ~12 kB on disk
    assert p.stat().st_size < 200_000
    assert MAX_IMAGE_PIXELS == 64_000_000

    def no_decoding(self, *a, **k):
        raise AssertionError("the pixels must not be decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
    with pytest.raises(AssertionError, match="must not be decoded"):  # the spy is wired: under the limit it fires
        read_image(p, max_pixels=10**9)
    e = _raises(lambda: read_image(p), "big.png", "too large", "10000x10000", "100,000,000", "64,000,000")
    assert e.path == str(p)
    _raises(lambda: read_image_bytes(p.read_bytes(), name="big-upload"), "big-upload", "too large")
