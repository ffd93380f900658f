"""read_image on special and huge files: devices and pipes refused without reading, a size cap before reading,
and Pillow's decompression-bomb refusal in emoscope's own words."""

from __future__ import annotations

import os
import struct
import sys
import threading
import zlib
from pathlib import Path

import pytest
from checks import raises_naming
from PIL import Image

import emoscope.input.images as images
from emoscope.errors import InputError
from emoscope.input.images import MAX_FILE_BYTES, read_image


def _raises(call, *words: str) -> InputError:
    return raises_naming(InputError, call, *words)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_device_is_refused_without_reading_it():
    e = _raises(lambda: read_image("/dev/zero"), "/dev/zero", "not a regular file")
    assert e.path == "/dev/zero"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_is_refused_instead_of_blocking(tmp_path):
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    out: list[BaseException | None] = []

    def read() -> None:
        try:
            read_image(fifo)
            out.append(None)
        except BaseException as e:
            out.append(e)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader (it opened the pipe) so the test run does not hang
        with open(fifo, "wb"):
            pass
        t.join(10)
        pytest.fail("read_image blocked on a named pipe")
    assert (
        isinstance(out[0], InputError) and "not a regular file" in str(out[0]) and "fifo.jpg" in str(out[0])
    )


def test_file_size_cap_is_checked_before_reading(tmp_path, monkeypatch):
    assert MAX_FILE_BYTES == 200_000_000
    p = tmp_path / "big.png"
    Image.new("L", (64, 64), 5).save(p)
    size = p.stat().st_size
    monkeypatch.setattr(images, "MAX_FILE_BYTES", size - 1)
    _raises(lambda: read_image(p), "big.png", "too large", f"{size:,} bytes", f"limit {size - 1:,}")
    monkeypatch.setattr(images, "MAX_FILE_BYTES", size)
    assert read_image(p).shape == (64, 64, 3)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def test_pillow_bomb_refusal_says_too_large_with_pixel_count_and_limit(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(100_000, 100_000))
    limit = 2 * Image.MAX_IMAGE_PIXELS
    e = _raises(lambda: read_image(p, max_pixels=10**12), "bomb.png", "image is too large", "10,000,000,000 pixels",
                f"limit {limit:,}")  # fmt: skip
    assert "DOS" not in str(e) and "decompression bomb" not in str(e)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX sockets")
def test_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s.jpg"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(path))
        _raises(lambda: read_image(path), "s.jpg", "not a regular file")
    finally:
        s.close()
