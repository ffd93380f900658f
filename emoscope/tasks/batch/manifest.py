"""The job manifest: an append-only JSON Lines file with one record per finished input.

A record is appended (and flushed to disk with ``fsync``) only after the input's part file has been committed, so
a record always means "this input is finished and its rows are on disk". The last record of an input wins (an
input is redone when its file changed, or on ``--retry-errors``). A crash can tear at most the last line: it is
cut off on the next open, and the input it was about is simply redone.

Record fields: ``key``, ``kind``, ``status`` (``ok`` / ``error``), ``error``, ``problems``, ``rows``, ``seconds`` and
``cpu_seconds`` (analysis wall-clock and CPU time),
``part`` (file name under ``parts/``, null when the input has no rows), ``size`` and ``mtime_ns`` (of the input when
it was listed), ``worker`` (``host:pid``), ``loads``, ``peak_rss_mb``, ``finished`` (UNIX time).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class Manifest:
    """Reads and appends the records of ``path`` (created on the first append)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._file = None

    def load(self) -> dict[str, dict[str, Any]]:
        """The last record of every input, by key. A torn last line (a crash while it was written) is cut off the
        file; any other line that is not a JSON record is ignored."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(keep)
                f.flush()
                os.fsync(f.fileno())
            data = data[:keep]
        records: dict[str, dict[str, Any]] = {}
        for line in data.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("key"), str):
                records[rec["key"]] = rec
        return records

    def append(self, record: dict[str, Any]) -> None:
        """Append one record and make it durable (flush + fsync) before returning."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 (kept open for the job; closed by close())
        self._file.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
