"""Which inputs a batch job has: the images and videos of a folder (recursively), or the paths listed in a text file.

Every input is an :class:`InputItem` with a stable ``key``: its path relative to the folder (``/``-separated), or
the path as written in the list (normalised). Keys name the input in the results (column ``source``) and in the
manifest, so they do not depend on the current directory, the machine or the number of workers. The order of the
items is deterministic (folder: sorted by key; list: the list's order) and is the order of the final results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from emoscope.datasets.folder import IMAGE_SUFFIXES
from emoscope.errors import EmoscopeError
from emoscope.input.files import not_regular_reason

#: File name endings treated as videos (anything else in a folder with an image ending is an image).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
)
IMAGE_SUFFIX_SET = frozenset(IMAGE_SUFFIXES)


@dataclass(frozen=True, slots=True)
class InputItem:
    """One input of a batch job.

    key: stable name (relative path in the folder, or the listed path); path: where to read it; kind: ``image`` or
    ``video`` (by the name's ending); size, mtime_ns: the file's size and modification time when the job was
    listed (``None`` when it could not be read), which tell a resumed job whether a finished input has changed.
    """

    key: str
    path: str
    kind: str
    size: int | None = None
    mtime_ns: int | None = None

    @property
    def signature(self) -> tuple[int | None, int | None]:
        return self.size, self.mtime_ns


@dataclass
class Walk:
    """The inputs found (:attr:`items`, in result order), how many files were passed over (:attr:`skipped`: in a
    folder, files whose ending is neither an image's nor a video's, and hidden files) and :attr:`warnings`: the
    sources that gave no input (an empty folder, a list naming nothing, a listed folder without images or videos).
    """

    source: str
    items: list[InputItem] = field(default_factory=list)
    skipped: int = 0
    listing: bool = False
    warnings: list[str] = field(default_factory=list)


def kind_of(path: str | os.PathLike) -> str | None:
    """``"image"``, ``"video"`` or ``None`` (neither) from the file name's ending."""
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIX_SET:
        return "image"
    return None


def _item(key: str, path: Path, kind: str) -> InputItem:
    try:
        st = path.stat()
        size, mtime = int(st.st_size), int(st.st_mtime_ns)
    except OSError:
        size = mtime = None
    return InputItem(key=key, path=str(path), kind=kind, size=size, mtime_ns=mtime)


def _walk_folder(root: Path, prefix: str, exclude: list[Path], walk: Walk) -> list[InputItem]:
    """Images and videos under ``root``, sorted by key; hidden files and folders (name starting with ``.``) and
    the ``exclude`` folders are left out."""
    found: list[InputItem] = []
    excluded = {os.path.realpath(p) for p in exclude}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")
                       and os.path.realpath(os.path.join(dirpath, d)) not in excluded]  # fmt: skip
        for name in filenames:
            kind = kind_of(name)
            if name.startswith(".") or kind is None:
                walk.skipped += 1
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            found.append(_item(f"{prefix}{rel}", full, kind))
    return sorted(found, key=lambda it: it.key)


def _empty_folder(path: Path, skipped: int, listed_in: Path | None = None) -> str:
    """The warning about a folder without inputs (``listed_in``: the list file that names it)."""
    where = f" (listed in {listed_in})" if listed_in is not None else ""
    ignored = f"; {skipped} other files ignored" if skipped else ""
    return f"{path}: folder{where} contains no images or videos{ignored}"


def collect_inputs(source: str | os.PathLike, *, exclude: list[str | os.PathLike] | None = None) -> Walk:
    """List the inputs of ``source``.

    * a folder: every image and video below it (recursively; sorted by relative path);
    * a file whose name ends like an image or a video: that one input;
    * any other file: a UTF-8 text list, one path per line (blank lines and lines starting with ``#`` are
      ignored; relative paths are relative to the list file's folder; a listed folder is expanded like a folder;
      a listed file is an input whatever its ending, a video when it ends like one, else an image; a path listed
      twice is kept once).

    exclude: folders never entered (the job's own output folder). A source that gives no input (an empty folder, a
    list without entries, a listed folder without images or videos) is named in :attr:`Walk.warnings`.
    Raises :class:`EmoscopeError` when ``source`` does not exist or the list cannot be read.
    """
    src = Path(source)
    excl = [Path(p) for p in (exclude or [])]
    walk = Walk(source=str(src))
    if src.is_dir():
        walk.items = _walk_folder(src, "", excl, walk)
        if not walk.items:
            walk.warnings.append(_empty_folder(src, walk.skipped))
        return walk
    if not src.exists():
        raise EmoscopeError(f"{src}: no such folder or file")
    if not src.is_file():  # never read a device, a FIFO or a socket: it may never end
        raise EmoscopeError(f"{src}: {not_regular_reason(src)}; give a folder, an image or video file, or a text "
                            "file listing one path per line")  # fmt: skip
    if kind_of(src) is not None:
        walk.items = [_item(src.name, src, kind_of(src) or "image")]
        return walk
    walk.listing = True
    try:
        lines = src.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise EmoscopeError(f"{src}: cannot be read as a list of paths, one per line ({e})") from e
    seen: set[str] = set()
    base = src.parent
    listed = 0
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        key = os.path.normpath(entry).replace(os.sep, "/")
        path = Path(entry) if os.path.isabs(entry) else base / entry
        listed += 1
        if path.is_dir():
            before = walk.skipped
            items = _walk_folder(path, key.rstrip("/") + "/", excl, walk)
            if not items:
                walk.warnings.append(_empty_folder(path, walk.skipped - before, listed_in=src))
        else:
            items = [_item(key, path, kind_of(path) or "image")]
        for it in items:
            if it.key not in seen:
                seen.add(it.key)
                walk.items.append(it)
    if not listed:
        walk.warnings.append(f"{src}: the list names no inputs (no line other than blanks and # comments)")
    return walk
