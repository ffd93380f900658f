"""Robust image reading.

Every image enters emoscope through :func:`read_image` / :func:`read_image_bytes`, which

* check the file exists, is a regular file (not a device, pipe or socket, which could block or never end), is not
  empty, not larger than ``MAX_FILE_BYTES`` and is an image (by decoding it, not by its name);
* refuse images larger than ``max_pixels`` *before* decoding them (decompression bombs);
* apply the EXIF orientation;
* convert any colour mode (grey, grey+alpha, palette, RGBA, CMYK, 16-bit, float) to 8-bit BGR or grey.

:func:`to_grey_uint8` is the one converter of in-memory arrays (any channel count and dtype) to 8-bit grey, used by
the face, feature and preprocessing stages.

Errors are :class:`emoscope.errors.InputError` and name the file and the problem.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from emoscope.errors import InputError
from emoscope.input.files import special_kind

#: Default ceiling on the number of pixels of an input image (about 8k x 8k).
MAX_IMAGE_PIXELS = 64_000_000
#: Ceiling on the size of an image file, checked before reading it: 200 MB is far above any photo (a 64-megapixel
#: uncompressed 8-bit RGB TIFF is 192 MB) and keeps a wrong or endless file from filling the memory.
MAX_FILE_BYTES = 200_000_000


def read_image(path: str | os.PathLike, *, grey: bool = False, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image file.

    Returns ``(H, W, 3)`` uint8 BGR (OpenCV order), or ``(H, W)`` uint8 when ``grey`` is true.
    """
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise InputError(p, "file does not exist") from None
    except OSError as e:
        raise InputError(p, f"cannot be read ({e.strerror or e})") from e
    if stat.S_ISDIR(mode):
        raise InputError(p, "is a directory, not an image file")
    if special_kind(mode):  # /dev/zero never ends, a FIFO blocks until someone writes to it
        raise InputError(p, f"is {special_kind(mode)}, not a regular file")
    try:
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise InputError(p, f"file is too large: {size:,} bytes (limit {MAX_FILE_BYTES:,})")
            data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since
    except OSError as e:
        raise InputError(p, f"cannot be read ({e.strerror or e})") from e
    if len(data) > MAX_FILE_BYTES:
        raise InputError(p, f"file is too large: over {MAX_FILE_BYTES:,} bytes (limit {MAX_FILE_BYTES:,})")
    return read_image_bytes(data, name=str(p), grey=grey, max_pixels=max_pixels)


def read_image_bytes(
    data: bytes, *, name: str = "<bytes>", grey: bool = False, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Decode an encoded image held in memory; see :func:`read_image`. ``name`` is used in error messages."""
    if len(data) == 0:
        raise InputError(name, "file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w <= 0 or h <= 0:
                raise InputError(name, f"image has no pixels ({w}x{h})")
            if w * h > max_pixels:
                raise InputError(
                    name, f"image is too large: {w}x{h} = {w * h:,} pixels (limit {max_pixels:,}); resize it first"
                )
            img.load()
    except InputError:
        raise
    except UnidentifiedImageError as e:
        raise InputError(name, "not an image, or an image format that cannot be decoded") from e
    except Image.DecompressionBombError as e:
        # Pillow's own ceiling (2 x Image.MAX_IMAGE_PIXELS), met in Image.open before ours when max_pixels is above it
        raise InputError(name, _bomb_problem(e, max_pixels)) from e
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(name, f"image is corrupt or truncated ({e})") from e
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the picture
        img = ImageOps.exif_transpose(img)
    arr = _to_uint8(img)
    if grey:
        if arr.ndim == 3:
            import cv2

            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)
        return np.ascontiguousarray(arr)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(arr)


def _bomb_problem(e: Exception, max_pixels: int) -> str:
    """The problem of an image refused by Pillow's decompression-bomb check, in the words of our own check."""
    limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or 0)) or max_pixels
    m = re.search(r"\((\d+) pixels\)", str(e))  # "Image size (N pixels) exceeds limit of L pixels, ..."
    count = f"{int(m.group(1)):,} pixels" if m else "more pixels than can be decoded safely"
    return f"image is too large: {count} (limit {limit:,}); resize it first"


def _to_uint8(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> uint8 grey ``(H, W)`` or BGR ``(H, W, 3)``; alpha is composited on white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(img).astype(np.float64)
        if mode.startswith("I;16"):
            a = a / 257.0
        else:
            lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
            a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        return np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    if mode == "L":
        return np.asarray(img, dtype=np.uint8)
    if mode in ("1",):
        return np.asarray(img.convert("L"), dtype=np.uint8)
    if mode in ("LA", "RGBA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba).convert("RGB")
    elif mode != "RGB":
        img = img.convert("RGB")
    rgb = np.asarray(img, dtype=np.uint8)
    return rgb[:, :, ::-1]


def to_grey_uint8(image: np.ndarray) -> np.ndarray:
    """Grey ``(H, W)``, ``(H, W, 1)``, BGR ``(H, W, 3)`` or BGRA ``(H, W, 4)`` of uint8 / uint16 / float in [0, 1]
    -> contiguous uint8 grey ``(H, W)``."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"image must be (H, W) grey or (H, W, 3|4) BGR(A), got shape {a.shape}")
    if a.dtype == np.uint16:
        a = (a // 257).astype(np.uint8)
    elif a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        f = np.nan_to_num(a.astype(np.float32))
        if f.size and float(f.max()) <= 1.0:
            f = f * 255.0
        a = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    if a.ndim == 3:
        if a.size == 0:
            return np.zeros(a.shape[:2], np.uint8)
        a = cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY if a.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(a)
