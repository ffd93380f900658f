"""Atomic file output: a file is either complete or absent, never half-written (also on errors and Ctrl-C).

Everything is written to a hidden temporary file beside the target (same folder, so the final rename cannot cross
file systems; same extension, so encoders that pick the format from the name still work) and moved into place with
``os.replace`` only when complete. On any exception, including ``KeyboardInterrupt``, the temporary file is
removed and the target is left as it was.

:func:`check_output_path` / :func:`check_output_dir` check an output path *before* any work is done (so that a bad
path is reported at once, not after the analysis); errors about an output are :class:`OutputError` and name the
target, never the temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from emoscope.errors import OutputError


def _why(e: OSError) -> str:
    """The reason of an OSError in words (``Permission denied``), without the file name."""
    return e.strerror or str(e)


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or the closest of its ancestors that exists (``.`` for a relative path at worst)."""
    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_writable_folder(target: Path, folder: Path) -> None:
    """Raise :class:`OutputError` naming ``target`` unless ``folder`` is or can be created as a writable folder."""
    anc = _nearest_existing(folder)
    if not anc.is_dir():
        raise OutputError(target, f"cannot create the folder {folder}: {anc} is a file, not a folder")
    try:  # the only reliable test (root, read-only or virtual file systems): create a file there, then remove it
        fd, probe = tempfile.mkstemp(prefix=".emoscope-check-", dir=anc)
    except OSError as e:
        why = "files cannot be created there" if e.errno == errno.ENOENT else _why(e)  # e.g. /proc
        raise OutputError(target, f"cannot write into the folder {anc} ({why})") from e
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_output_path(path: str | os.PathLike, what: str = "the output") -> Path:
    """Check, before any work, that a file can be written to ``path``: it is not a folder or a device, and its
    folder exists (or can be created) and is writable. Creates nothing. Raises :class:`OutputError` naming
    ``path``; ``what`` (e.g. ``"--csv"``) is named where it helps."""
    p = Path(path)
    if p.exists():
        mode = p.stat().st_mode
        if stat.S_ISDIR(mode):
            raise OutputError(p, f"is a folder; {what} needs a file name")
        if not stat.S_ISREG(mode):
            raise OutputError(
                p, f"is not a regular file (a device, pipe or socket); {what} needs a file name"
            )
    _check_writable_folder(p, p.parent)
    return p


def check_output_dir(path: str | os.PathLike, what: str = "the output folder") -> Path:
    """Check, before any work, that files can be written into the folder ``path`` (it is a folder or can be
    created as one, and is writable). Creates nothing. Raises :class:`OutputError` naming ``path``."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(p, f"is a file; {what} must be a folder")
    _check_writable_folder(p, p)
    return p


def check_distinct_outputs(outputs: dict[str, str | os.PathLike | None]) -> None:
    """Raise :class:`OutputError` when two of ``outputs`` (option -> path; None = not asked for) are the same
    file: the second would overwrite the first."""
    seen: dict[Path, str] = {}
    for opt, path in outputs.items():
        if not path:
            continue
        key = Path(path).resolve()
        if key in seen:
            raise OutputError(
                path, f"given to both {seen[key]} and {opt}: one output would overwrite the other"
            )
        seen[key] = opt


def check_model_pair_out(out: str | os.PathLike, inputs: list[str | os.PathLike], what: str = "the output") -> None:
    """Before an export: neither ``out`` nor the ``.json`` beside it is one of the ``inputs`` (checkpoints; the
    same path or the same file by another name), and ``out``'s folder is writable. :class:`OutputError` naming the
    target otherwise: an export never replaces its input."""
    p = Path(out)
    for target in (p, p.with_suffix(".json")):
        for src in map(Path, inputs):
            same = target.resolve() == src.resolve()
            if not same and target.exists() and src.exists():
                same = os.path.samefile(target, src)
            if same:
                raise OutputError(target, f"is the input checkpoint {src}; an export never replaces its input")
    check_output_path(p, what)  # its folder must be writable: told now, naming ``out``, not a temporary at the end


def temporary_path(path: str | os.PathLike) -> Path:
    """The hidden temporary name used while ``path`` is written: ``.<stem>.<pid>.tmp<suffix>`` beside it."""
    p = Path(path)
    return p.with_name(f".{p.stem}.{os.getpid()}.tmp{p.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """``with atomic_path("out.csv") as tmp: write(tmp)``: ``out.csv`` appears, complete, when the block ends
    without an error; creates the parent folders. A file-system error about the temporary file, the rename or the
    folders is raised as :class:`OutputError` naming ``path``."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(target, "is a folder, not a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(target, f"cannot create its folder ({_why(e)}: {e.filename})") from e
    tmp = temporary_path(target)
    try:
        yield tmp
        if not tmp.is_file():
            raise OutputError(target, "nothing was written")
        os.replace(tmp, target)
    except OutputError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if str(tmp) in (str(e.filename), str(e.filename2)) or str(target) == str(e.filename2):
            raise OutputError(target, f"cannot be written ({_why(e)})") from e
        raise
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
