"""Uploads: ``multipart/form-data`` bodies read as a stream under a byte limit, with the service's error type.

* The body limit is checked on the ``Content-Length`` header before a byte of the body is read (413 at once),
  and again while the body streams in (a client that sends more than it announced, or a chunked body, is
  stopped as soon as it passes the limit).
* Only the expected fields are accepted: an unknown or repeated field is refused (400) when its header
  arrives.
* A part is kept in memory, or written to a file whose path the *service* chose (inside its data folder): the
  client's file name is never used for a path; it is only reported back, reduced to a short, harmless display
  name (:func:`display_name`).
* Nothing is spooled to the system's temporary folder (unlike the usual form parsers).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

#: Largest header block of one part (bytes); real clients send a few hundred.
MAX_PART_HEADER_BYTES = 16 * 1024


class ServiceError(Exception):
    """An error answered as ``{"error": code, "detail": text}`` with HTTP status ``status``."""

    def __init__(self, status: int, error: str, detail: str):
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


@dataclass
class Upload:
    """One uploaded part.

    field: the form field name. filename: :func:`display_name` of the client's file name (for messages and
    results only; never a path). data: the bytes, for parts kept in memory; path: the file the service wrote,
    for parts spooled to disk. size: bytes received."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytearray | None = None
    path: Path | None = None
    size: int = 0


def display_name(raw: str | None, max_len: int = 120) -> str | None:
    """The last component of a client's file name, without control characters, at most ``max_len`` characters
    (``"../../etc/passwd"`` -> ``"passwd"``, ``"C:\\x\\photo.jpg"`` -> ``"photo.jpg"``); ``None`` when nothing
    is left. For display only: the service never builds a path from it."""
    if not raw:
        return None
    name = PurePosixPath(raw.replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    name = re.sub(r"\s+", " ", name)
    if name in ("", ".", ".."):
        return None
    return name[:max_len]


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_bytes: int = 0
    upload: Upload | None = None
    sink: IO[bytes] | None = None


class _Reader:
    """Callbacks of python-multipart's streaming parser that fill :class:`Upload` objects."""

    def __init__(self, fields: Sequence[str], spool: Mapping[str, Path], charset: str = "utf-8"):
        self.fields = tuple(fields)
        self.spool = dict(spool)
        self.charset = charset
        self.uploads: dict[str, Upload] = {}
        self.part = _Part()
        self.name_buf = b""
        self.value_buf = b""
        self.ended = False
        self.files: list[IO[bytes]] = []

    def expected(self) -> str:
        return " and ".join(f"'{f}'" for f in self.fields)

    def on_part_begin(self) -> None:
        self.part = _Part()

    def _grow(self, n: int) -> None:
        self.part.header_bytes += n
        if self.part.header_bytes > MAX_PART_HEADER_BYTES:
            raise ServiceError(400, "bad_multipart", f"a part's headers exceed {MAX_PART_HEADER_BYTES} bytes")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self.name_buf += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self.value_buf += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((self.name_buf.strip().lower(), self.value_buf.strip()))
        self.name_buf = self.value_buf = b""

    def on_headers_finished(self) -> None:
        headers = dict(self.part.headers)
        disposition = headers.get(b"content-disposition")
        if disposition is None:
            raise ServiceError(400, "bad_multipart", "a part has no Content-Disposition header")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise ServiceError(400, "bad_multipart", "a part's Content-Disposition has no field name")
        name = options[b"name"].decode(self.charset, "replace")
        if name not in self.fields:
            shown = display_name(name, 40) or "(empty)"
            raise ServiceError(
                400, "unexpected_field", f"unexpected form field '{shown}'; send {self.expected()}"
            )
        if name in self.uploads:
            raise ServiceError(400, "duplicate_field", f"form field '{name}' was sent more than once")
        raw_filename = options.get(b"filename")
        ctype = headers.get(b"content-type")
        up = Upload(
            field=name,
            filename=display_name(raw_filename.decode(self.charset, "replace")) if raw_filename else None,
            content_type=ctype.decode("latin-1")[:100] if ctype else None,
        )
        if name in self.spool:
            up.path = self.spool[name]
            self.part.sink = open(up.path, "wb")  # noqa: SIM115 (closed in on_part_end / close())
            self.files.append(self.part.sink)
        else:
            up.data = bytearray()
        self.part.upload = up
        self.uploads[name] = up

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        up = self.part.upload
        if up is None:
            return
        chunk = data[start:end]
        up.size += len(chunk)
        if self.part.sink is not None:
            self.part.sink.write(chunk)
        else:
            assert up.data is not None
            up.data.extend(chunk)

    def on_part_end(self) -> None:
        if self.part.sink is not None:
            self.part.sink.close()
            self.part.sink = None

    def on_end(self) -> None:
        self.ended = True

    def callbacks(self) -> dict:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin",
                "on_part_data",
                "on_part_end",
                "on_header_field",
                "on_header_value",
                "on_header_end",
                "on_headers_finished",
                "on_end",
            )
        }

    def close(self, remove: bool) -> None:
        for f in self.files:
            with contextlib.suppress(OSError):
                f.close()
        if remove:
            for up in self.uploads.values():
                if up.path is not None:
                    with contextlib.suppress(OSError):
                        up.path.unlink()


def check_declared_size(headers: Mapping[str, str], limit: int) -> None:
    """413 when the request announces a body larger than ``limit`` bytes (nothing of the body is read)."""
    cl = headers.get("content-length")
    if cl is None:
        return
    try:
        n = int(cl)
    except ValueError:
        raise ServiceError(400, "bad_request", f"invalid Content-Length header {cl[:40]!r}") from None
    if n > limit:
        raise ServiceError(
            413, "payload_too_large", f"the upload is {n:,} bytes; the limit is {limit:,} bytes"
        )


async def read_uploads(
    headers: Mapping[str, str],
    stream: AsyncIterator[bytes],
    *,
    fields: Sequence[str],
    limit: int,
    spool: Mapping[str, Path] | None = None,
    required: Sequence[str] | None = None,
) -> dict[str, Upload]:
    """Read a ``multipart/form-data`` body of at most ``limit`` bytes with the form fields ``fields``.

    headers: the request's headers (``content-type``, ``content-length``); stream: its body chunks.
    spool: field -> file to write that part to (a path the caller made); other fields are kept in memory.
    required: the fields that must be present (default: all of ``fields``).
    Raises :class:`ServiceError` (400 / 413 / 415) and removes any spooled file on error.
    """
    ctype = headers.get("content-type", "")
    media, params = parse_options_header(ctype)
    if media != b"multipart/form-data":
        shown = ctype.split(";")[0][:60] or "none"
        raise ServiceError(
            415,
            "unsupported_media_type",
            f"send the file as multipart/form-data with the field(s) {', '.join(fields)} "
            f"(Content-Type was {shown})",
        )
    check_declared_size(headers, limit)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ServiceError(400, "bad_multipart", "the multipart Content-Type has no boundary")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    reader = _Reader(
        fields, spool or {}, charset if charset.lower() in ("utf-8", "utf8", "latin-1") else "utf-8"
    )
    parser = MultipartParser(boundary, reader.callbacks())
    total = 0
    ok = False
    try:
        async for chunk in stream:
            total += len(chunk)
            if total > limit:
                raise ServiceError(
                    413, "payload_too_large", f"the upload passed the limit of {limit:,} bytes"
                )
            parser.write(chunk)
        parser.finalize()
        if not reader.ended:
            raise ServiceError(
                400,
                "bad_multipart",
                "the multipart body ends before its closing boundary (interrupted upload?)",
            )
        missing = [f for f in (required if required is not None else fields) if f not in reader.uploads]
        if missing:
            raise ServiceError(
                400,
                "missing_field",
                f"missing form field(s) {', '.join(repr(m) for m in missing)}; send {reader.expected()}",
            )
        ok = True
    except MultipartParseError as e:
        raise ServiceError(400, "bad_multipart", f"the multipart body cannot be parsed ({e})") from None
    finally:
        reader.close(remove=not ok)
    return reader.uploads
