"""Atomic file output: a file is either complete or absent, never half-written (also on errors and Ctrl-C).

Everything is written to a hidden temporary file beside the target (same folder, so the final rename cannot cross
file systems; same extension, so encoders that pick the format from the name still work) and moved into place with
``os.replace`` only when complete. On any exception, including ``KeyboardInterrupt``, the temporary file is
removed and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def temporary_path(path: str | os.PathLike) -> Path:
    """The hidden temporary name used while ``path`` is written: ``.<stem>.<pid>.tmp<suffix>`` beside it."""
    p = Path(path)
    return p.with_name(f".{p.stem}.{os.getpid()}.tmp{p.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """``with atomic_path("out.csv") as tmp: write(tmp)``: ``out.csv`` appears, complete, when the block ends
    without an error; creates the parent folders."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(target)
    try:
        yield tmp
        if not tmp.is_file():
            raise OSError(f"{target}: nothing was written")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text_atomic(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv_atomic(df, path: str | os.PathLike, float_format: str = "%.6f") -> Path:
    """Write a pandas DataFrame to a CSV file (no index) atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)
    return Path(path)
