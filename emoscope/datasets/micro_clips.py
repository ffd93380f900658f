"""The raw micro-expression sets as researchers receive them: frame folders plus a coding sheet.

Three layouts are read (``root`` is the folder that holds the subject folders):

* **CASME II** (``casme2``)::

      <root>/sub01/EP02_01f/img46.jpg ...          (the cropped release: reg_img46.jpg)
      CASME2-coding-20140508.xlsx                  Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
                                                   Action Units, Estimated Emotion

  The sheet writes subject 1 for the folder ``sub01``.

* **SAMM** (``samm``)::

      <root>/006/006_1_2/006_05562.jpg ...         frame number = the digits after the last underscore
      SAMM_Micro_FACS_Codes_v2.xlsx                title / information rows, then the header row: Subject,
                                                   Filename, Inducement Code, Onset Frame, Apex Frame,
                                                   Offset Frame, Duration, Type, Action Units, Notes,
                                                   Estimated Emotion

  The sheet writes subject 6 for the folder ``006``.

* **SMIC-HS** (``smic``)::

      <root>/s1/micro/negative/s1_ne_01/image0643434.bmp ...

  No sheet: the label is the class folder (negative, positive, surprise); there is no apex frame, so a clip's
  onset is its first frame, its offset its last and its apex None.

The header row of a sheet is found by its column names anywhere in the sheet (any sheet of a workbook), so
title rows above it do not matter; names are compared ignoring case, spaces and punctuation (``OnsetFrame`` =
``Onset Frame``). Sheets may be ``.xlsx`` (read with openpyxl, an optional dependency) or ``.csv``. When
``coding`` is not given, the sheet is looked for under its distributed name (``.xlsx``, then ``.csv``) in
``root`` and in the folder above it.

A missing apex in a sheet (an empty cell, ``/``, ``-``, ``n/a`` or ``-1``) gives ``apex=None``.

Emotions map to the 3 MEGC2019 classes (:data:`emoscope.labels.MICRO_CLASSES`) as the composite does:
negative = repression, anger, contempt, disgust, fear, sadness; positive = happiness; surprise = surprise.
Every other emotion ("others", "Other") is kept with ``label = -1``.

Subjects are numbered per source set, so a clip's subject is made unique as ``"<source>/<sub>"``
(``"casme2/sub01"``, ``"samm/006"``, ``"smic/s1"``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from emoscope.errors import DatasetError, InputError
from emoscope.input.images import read_image
from emoscope.labels import MICRO_CLASSES, canonical

SOURCES: tuple[str, ...] = ("casme2", "samm", "smic")
CASME2_CODING = "CASME2-coding-20140508.xlsx"
SAMM_CODING = "SAMM_Micro_FACS_Codes_v2.xlsx"
FRAME_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})
SMIC_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")

# emotion (canonical spelling, or a MEGC class name) -> index into MICRO_CLASSES
_MICRO_INDEX = {
    **dict.fromkeys(
        ("negative", "repression", "anger", "contempt", "disgust", "fear", "sadness"),
        MICRO_CLASSES.index("negative"),
    ),
    **dict.fromkeys(("positive", "happiness"), MICRO_CLASSES.index("positive")),
    "surprise": MICRO_CLASSES.index("surprise"),
}
_NO_FRAME = frozenset({"", "/", "-", "n/a", "na", "none", "-1"})

# frame file name (stem) -> frame number, per source
_FRAME_NAMES = {
    "casme2": (re.compile(r"(?:reg_)?img(\d+)", re.IGNORECASE), "img46.jpg or reg_img46.jpg"),
    "samm": (re.compile(r".*_(\d+)"), "006_05562.jpg"),
    "smic": (re.compile(r"image(\d+)", re.IGNORECASE), "image0643434.bmp"),
}

# sheet columns: key -> name as written in the sheet of each source (``None``: the source has no such column)
_COLUMNS = {
    "subject": {"casme2": "Subject", "samm": "Subject"},
    "filename": {"casme2": "Filename", "samm": "Filename"},
    "onset": {"casme2": "OnsetFrame", "samm": "Onset Frame"},
    "apex": {"casme2": "ApexFrame", "samm": "Apex Frame"},
    "offset": {"casme2": "OffsetFrame", "samm": "Offset Frame"},
    "emotion": {"casme2": "Estimated Emotion", "samm": "Estimated Emotion"},
}
_OPTIONAL_COLUMNS = {"action_units": {"casme2": "Action Units", "samm": "Action Units"}}


@dataclass(frozen=True)
class MicroClip:
    """One micro-expression clip of a raw set: its frames on disk and its coding.

    name: ``"<source>/<sub>/<clip>"``, e.g. ``"casme2/sub01/EP02_01f"``.
    subject: ``"<source>/<sub>"``, unique across source sets (``"casme2/sub01"``, ``"samm/006"``, ``"smic/s1"``).
    source: ``casme2``, ``samm`` or ``smic``.
    frames: paths of the clip's frame files, sorted by frame number (length F).
    frame_numbers: the frame number of each file (length F, increasing), as in the file names and the sheet.
    onset, apex, offset: frame numbers (not indices) of the onset, apex and offset; ``apex`` is None when not
        coded (SMIC-HS, or an empty apex cell).
    emotion: the emotion as written in the sheet (or the SMIC class folder), e.g. ``"repression"``, ``"Other"``.
    label: index into :data:`MICRO_CLASSES` (0 negative, 1 positive, 2 surprise), -1 for emotions outside them.
    action_units: the Action Units cell as written (``""`` when the sheet has none; SMIC has none).
    where: where the clip was defined: ``sheet:row``, or the clip folder for SMIC.
    """

    name: str
    subject: str
    source: str
    frames: tuple[str, ...]
    frame_numbers: tuple[int, ...]
    onset: int
    apex: int | None
    offset: int
    emotion: str
    label: int
    action_units: str = ""
    where: str = ""

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def has_label(self) -> bool:
        """True when the emotion is one of the 3 MEGC2019 classes (``label >= 0``)."""
        return self.label >= 0

    @property
    def folder(self) -> str:
        """The clip's frame folder."""
        return str(Path(self.frames[0]).parent)

    def frame_path(self, number: int) -> str:
        """Path of the frame with frame number ``number``; :class:`DatasetError` when the clip has none."""
        try:
            return self.frames[self.frame_numbers.index(number)]
        except ValueError:
            raise DatasetError(
                f"{self.name}: frame {number} is not one of the clip's frames "
                f"({self.frame_numbers[0]}..{self.frame_numbers[-1]} in {self.folder})"
            ) from None

    def apex_or_middle(self) -> int:
        """The apex frame number, or when it is not coded the middle one of the frames from onset to offset."""
        if self.apex is not None:
            return self.apex
        inside = [n for n in self.frame_numbers if self.onset <= n <= self.offset]
        return inside[len(inside) // 2]


def micro_label(emotion: str) -> int:
    """Index of ``emotion`` in :data:`MICRO_CLASSES` as MEGC2019 groups them, or -1 (``"others"``, unknown).

    ``"repression"``, ``"Disgust"``, ``"sad"`` -> 0; ``"happiness"`` -> 1; ``"Surprise"`` -> 2; ``"others"`` -> -1.
    """
    key = emotion.strip().lower()
    with contextlib.suppress(KeyError):  # not an emotion name: "others", "negative"
        key = canonical(key)
    return _MICRO_INDEX.get(key, -1)


# ------------------------------------------------------------------------------------------------ sheets


def _norm(cell: object) -> str:
    """Column name for matching: lower case, letters and digits only (``"Onset Frame"`` -> ``"onsetframe"``)."""
    return re.sub(r"[^a-z0-9]", "", _text(cell).lower())


def _text(cell: object) -> str:
    """A sheet cell as stripped text; ``None`` -> ``""``, ``46.0`` -> ``"46"``."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _sheet_rows(path: Path) -> Iterator[tuple[str, list[tuple[int, list[object]]]]]:
    """Yield ``(sheet name, [(row number from 1, cells), ...])`` for each sheet of a ``.xlsx`` or ``.csv`` file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DatasetError(f"{path}: coding sheet cannot be read ({e.strerror or e})") from e
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:  # saved by Excel in a Windows code page
            text = data.decode("cp1252", errors="replace")
        rows = csv.reader(io.StringIO(text, newline=""))  # a quoted cell may span lines: row = record
        yield path.name, [(i, list(r)) for i, r in enumerate(rows, start=1)]
        return
    if suffix not in (".xlsx", ".xlsm"):
        raise DatasetError(f"{path}: unsupported coding sheet format {suffix or '(none)'}; use .xlsx or .csv")
    try:
        import openpyxl
    except ImportError as e:
        raise DatasetError(
            f"{path}: reading .xlsx coding sheets needs openpyxl: pip install openpyxl "
            "(or pip install 'emoscope[train]'), or save the sheet as CSV and pass that file"
        ) from e
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises zipfile, KeyError, InvalidFileException ... on a broken file
        raise DatasetError(f"{path}: not a readable .xlsx workbook ({type(e).__name__}: {e})") from e
    try:
        sheets = [
            (ws.title, [(i, list(r)) for i, r in enumerate(ws.iter_rows(values_only=True), 1)]) for ws in book
        ]
    finally:
        book.close()
    yield from sheets


def _read_table(path: Path, source: str) -> list[tuple[str, dict[str, object]]]:
    """Rows of a coding sheet below its header row: ``[("file:row", {column key: cell}), ...]``.

    The header is the first row, in any sheet, holding every required column name of ``source``.
    """
    required = {key: names[source] for key, names in _COLUMNS.items()}
    optional = {key: names[source] for key, names in _OPTIONAL_COLUMNS.items()}
    best: tuple[int, str, int, list[str]] = (0, "", 0, list(required.values()))
    for sheet, rows in _sheet_rows(path):
        for k, (row_no, cells) in enumerate(rows):
            names = [_norm(c) for c in cells]
            missing = [want for want in required.values() if _norm(want) not in names]
            found = len(required) - len(missing)
            if missing:
                if found > best[0]:
                    best = (found, sheet, row_no, missing)
                continue
            col = {
                key: names.index(_norm(want))
                for key, want in {**required, **optional}.items()
                if _norm(want) in names
            }
            table = []
            for data_no, data in rows[k + 1 :]:
                if not any(_text(c) for c in data):
                    continue
                table.append(
                    (f"{path}:{data_no}", {key: data[i] if i < len(data) else None for key, i in col.items()})
                )
            return table
    wanted = ", ".join(required.values())
    if best[0] == 0:
        raise DatasetError(f"{path}: no header row with the columns {wanted}: none of them is in the sheet")
    raise DatasetError(
        f"{path}: no header row with the columns {wanted}; the closest, row {best[2]} of sheet {best[1]!r}, "
        f"lacks column(s) {best[3]}"
    )


def _find_coding(root: Path, coding: str | Path | None, default: str, label: str) -> Path:
    """The coding sheet: ``coding`` when given, else ``default`` (.xlsx, then .csv) in ``root`` or its parent."""
    if coding is not None:
        p = Path(coding)
        if not p.is_file():
            raise DatasetError(f"{p}: {label} coding sheet does not exist")
        return p
    stem = Path(default).stem
    candidates = [d / f"{stem}{ext}" for d in (root, root.parent) for ext in (".xlsx", ".csv")]
    for p in candidates:
        if p.is_file():
            return p
    raise DatasetError(
        f"{root}: {label} coding sheet {default} not found (looked for {stem}.xlsx / .csv in {root} and "
        f"{root.parent}); pass coding=PATH"
    )


# ------------------------------------------------------------------------------------------------ cells


def _frame_number(cell: object, what: str, where: str, *, optional: bool = False) -> int | None:
    """A frame-number cell as int; a missing-apex marker gives None when ``optional``."""
    text = _text(cell)
    if optional and text.lower() in _NO_FRAME:
        return None
    if isinstance(cell, bool) or not re.fullmatch(r"\d+(\.0*)?", text):
        raise DatasetError(f"{where}: {what} frame {text or '(empty)'!r} is not a frame number")
    return int(float(text))


def _subject_folder(cell: object, source: str, where: str) -> str:
    """Subject cell -> subject folder name: casme2 ``1`` -> ``sub01``; samm ``6`` -> ``006``."""
    text = _text(cell)
    m = re.fullmatch(r"(?:sub)?(\d+)", text, re.IGNORECASE)
    if not m:
        raise DatasetError(f"{where}: subject {text or '(empty)'!r} is not a subject number")
    number = int(m.group(1))
    return f"sub{number:02d}" if source == "casme2" else f"{number:03d}"


# ------------------------------------------------------------------------------------------------ frames


def _list_frames(folder: Path, source: str, where: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The frame files of a clip folder sorted by frame number: ``(paths, numbers)``.

    Files that are not images named like the source's frames (``img46.jpg``, ...) are ignored; two files with
    the same frame number, or no frame at all, raise :class:`DatasetError`.
    """
    pattern, example = _FRAME_NAMES[source]
    found: dict[int, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") or f.suffix.lower() not in FRAME_SUFFIXES or not f.is_file():
            continue
        m = pattern.fullmatch(f.stem)
        if not m:
            continue
        number = int(m.group(1))
        if number in found:
            raise DatasetError(f"{where}: {found[number]} and {f.name} have the same frame number {number}")
        found[number] = f
    if not found:
        raise DatasetError(f"{where}: clip folder {folder} holds no frames named like {example}")
    numbers = tuple(sorted(found))
    return tuple(str(found[n]) for n in numbers), numbers


def _check_phases(
    onset: int, apex: int | None, offset: int, numbers: tuple[int, ...], folder: Path, where: str
) -> None:
    """Onset <= apex <= offset, onset < offset, and each of them one of the clip's frames."""
    if not (onset < offset and (apex is None or onset <= apex <= offset)):
        raise DatasetError(
            f"{where}: frames out of order: onset {onset}, apex {apex}, offset {offset} "
            "(need onset <= apex <= offset and onset < offset)"
        )
    have = set(numbers)
    for what, n in (("onset", onset), ("apex", apex), ("offset", offset)):
        if n is None or n in have:
            continue
        place = "outside" if not numbers[0] <= n <= numbers[-1] else "missing from"
        raise DatasetError(
            f"{where}: {what} frame {n} is {place} the clip's frames ({folder}: frames {numbers[0]}..{numbers[-1]}, "
            f"{len(numbers)} files)"
        )


def _guarded(
    errors: list[tuple[str, str]] | None, where: str, make: Callable[[], MicroClip]
) -> MicroClip | None:
    """``make()``; with an ``errors`` list a :class:`DatasetError` is recorded there (and None returned)."""
    if errors is None:
        return make()
    try:
        return make()
    except DatasetError as e:
        errors.append((where, str(e)))
        return None


def _check_root(root: str | Path, label: str, example: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: {label} folder does not exist (expected {example} inside)")
    return root


# ------------------------------------------------------------------------------------------------ loaders


def _load_coded(
    source: str, root: Path, sheet: Path, errors: list[tuple[str, str]] | None
) -> list[MicroClip]:
    """Clips of a sheet-coded source (casme2, samm), in sheet order."""
    clips: list[MicroClip] = []
    seen: dict[str, str] = {}

    def one(where: str, rec: dict[str, object]) -> MicroClip:
        sub = _subject_folder(rec["subject"], source, where)
        clip = _text(rec["filename"])
        if not clip:
            raise DatasetError(f"{where}: empty Filename")
        name = f"{source}/{sub}/{clip}"
        if name in seen:
            raise DatasetError(f"{where}: duplicate clip {name} (first at {seen[name]})")
        seen[name] = where
        onset = _frame_number(rec["onset"], "onset", where)
        apex = _frame_number(rec["apex"], "apex", where, optional=True)
        offset = _frame_number(rec["offset"], "offset", where)
        assert onset is not None and offset is not None
        emotion = _text(rec["emotion"])
        folder = root / sub / clip
        if not folder.is_dir():
            raise DatasetError(f"{where}: clip folder {folder} is missing")
        frames, numbers = _list_frames(folder, source, where)
        _check_phases(onset, apex, offset, numbers, folder, where)
        return MicroClip(
            name=name,
            subject=f"{source}/{sub}",
            source=source,
            frames=frames,
            frame_numbers=numbers,
            onset=onset,
            apex=apex,
            offset=offset,
            emotion=emotion,
            label=micro_label(emotion),
            action_units=_text(rec.get("action_units")),
            where=where,
        )

    for where, rec in _read_table(sheet, source):
        if not _text(rec["subject"]) and not _text(rec["filename"]):
            continue  # a note or total row below the table
        c = _guarded(errors, where, lambda where=where, rec=rec: one(where, rec))
        if c is not None:
            clips.append(c)
    if not clips and not errors:
        raise DatasetError(f"{sheet}: no clips below the header row")
    return clips


def load_casme2(
    root: str | Path, coding: str | Path | None = None, *, errors: list[tuple[str, str]] | None = None
) -> list[MicroClip]:
    """CASME II clips: frames ``<root>/sub01/EP02_01f/img46.jpg`` (or ``reg_img46.jpg``) + the coding sheet.

    coding: the sheet (``.xlsx`` or ``.csv``); None looks for ``CASME2-coding-20140508.xlsx`` / ``.csv`` in
        ``root`` and its parent.
    errors: when a list is given, a bad row (clip folder missing, frame numbers outside the clip or out of
        order, malformed cell, duplicate) is appended to it as ``("file:row", message)`` and skipped instead of
        raising. A missing root, sheet or column always raises.

    Returns the clips in sheet order. Raises :class:`DatasetError` naming the file, or ``file:row``.
    """
    root = _check_root(root, "CASME II", "sub01/EP02_01f/img46.jpg")
    return _load_coded("casme2", root, _find_coding(root, coding, CASME2_CODING, "CASME II"), errors)


def load_samm(
    root: str | Path, coding: str | Path | None = None, *, errors: list[tuple[str, str]] | None = None
) -> list[MicroClip]:
    """SAMM clips: frames ``<root>/006/006_1_2/006_05562.jpg`` + ``SAMM_Micro_FACS_Codes_v2.xlsx``.

    The sheet's header row is found by its column names below any title rows. ``coding`` and ``errors`` as in
    :func:`load_casme2`. Returns the clips in sheet order.
    """
    root = _check_root(root, "SAMM", "006/006_1_2/006_05562.jpg")
    return _load_coded("samm", root, _find_coding(root, coding, SAMM_CODING, "SAMM"), errors)


def load_smic(root: str | Path, *, errors: list[tuple[str, str]] | None = None) -> list[MicroClip]:
    """SMIC-HS clips: ``<root>/s1/micro/<negative|positive|surprise>/s1_ne_01/image0643434.bmp``.

    The label is the class folder; onset = first frame, offset = last frame, apex = None. Subject folders
    (``s<N>``) without a ``micro/`` folder are skipped. ``errors`` as in :func:`load_casme2` (a clip folder
    without frames, an unknown class folder). Returns the clips sorted by subject number, class, clip name.
    """
    root = _check_root(root, "SMIC-HS", "s1/micro/negative/s1_ne_01/image0643434.bmp")
    subjects = [d for d in root.iterdir() if d.is_dir() and re.fullmatch(r"s\d+", d.name, re.IGNORECASE)]
    subjects.sort(key=lambda d: (int(d.name[1:]), d.name))
    clips: list[MicroClip] = []
    for sub in subjects:
        micro = sub / "micro"
        if not micro.is_dir():
            continue
        for cls in sorted(d for d in micro.iterdir() if d.is_dir() and not d.name.startswith(".")):
            if cls.name.lower() not in SMIC_CLASSES:
                problem = f"{cls}: unknown SMIC class folder {cls.name!r}; expected {', '.join(SMIC_CLASSES)}"
                if errors is None:
                    raise DatasetError(problem)
                errors.append((str(cls), problem))
                continue
            for folder in sorted(d for d in cls.iterdir() if d.is_dir() and not d.name.startswith(".")):

                def one(folder: Path = folder, cls: Path = cls, sub: Path = sub) -> MicroClip:
                    frames, numbers = _list_frames(folder, "smic", str(folder))
                    if len(numbers) < 2:
                        raise DatasetError(f"{folder}: a clip needs at least 2 frames, it has {len(numbers)}")
                    return MicroClip(
                        name=f"smic/{sub.name}/{folder.name}",
                        subject=f"smic/{sub.name}",
                        source="smic",
                        frames=frames,
                        frame_numbers=numbers,
                        onset=numbers[0],
                        apex=None,
                        offset=numbers[-1],
                        emotion=cls.name,
                        label=micro_label(cls.name),
                        where=str(folder),
                    )

                c = _guarded(errors, str(folder), one)
                if c is not None:
                    clips.append(c)
    if not clips and not errors:
        raise DatasetError(f"{root}: no SMIC-HS clips (expected s<N>/micro/<class>/<clip>/image<N>.bmp)")
    return clips


def load_micro_clips(
    source: str,
    root: str | Path,
    coding: str | Path | None = None,
    *,
    errors: list[tuple[str, str]] | None = None,
) -> list[MicroClip]:
    """Clips of one raw set: ``source`` = ``casme2`` (or ``casme_ii``), ``samm`` or ``smic`` (``smic_hs``).

    coding: the coding sheet of CASME II / SAMM (None: found under its distributed name); SMIC-HS has none.
    errors: see :func:`load_casme2`.
    """
    key = re.sub(r"[^a-z0-9]", "", source.lower())
    key = {"casmeii": "casme2", "smichs": "smic"}.get(key, key)
    if key == "casme2":
        return load_casme2(root, coding, errors=errors)
    if key == "samm":
        return load_samm(root, coding, errors=errors)
    if key == "smic":
        if coding is not None:
            raise DatasetError(f"{coding}: SMIC-HS has no coding sheet (labels come from the class folders)")
        return load_smic(root, errors=errors)
    raise DatasetError(f"unknown micro-expression source {source!r}; known: {list(SOURCES)}")


# ------------------------------------------------------------------------------------------------ images


def read_frame(path: str | Path, *, size: int | None = None, colour: bool = False) -> np.ndarray:
    """Read one frame: ``(H, W)`` uint8 grey, or ``(H, W, 3)`` uint8 RGB with ``colour``.

    size: resize to ``(size, size)`` pixels (area interpolation when shrinking); None keeps the file's size.
    Raises :class:`DatasetError` naming the file when it is missing or unreadable.
    """
    try:
        img = read_image(path, grey=not colour)
    except InputError as e:
        raise DatasetError(f"unreadable frame {e}") from e
    if size is not None and img.shape[:2] != (size, size):
        shrink = img.shape[0] > size or img.shape[1] > size
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.ascontiguousarray(img[:, :, ::-1]) if colour else img


def read_onset_apex(
    clip: MicroClip,
    *,
    size: int | None = None,
    colour: bool = False,
    missing_apex: Literal["error", "middle"] = "error",
) -> tuple[np.ndarray, np.ndarray]:
    """The onset and apex frames of ``clip``: two ``(H, W)`` uint8 grey (or ``(H, W, 3)`` RGB) images.

    size: resize both to ``(size, size)``; None keeps the files' size, which must then be the same.
    missing_apex: for a clip without apex (SMIC-HS): ``"error"`` raises :class:`DatasetError`, ``"middle"``
        reads the middle frame between onset and offset (:meth:`MicroClip.apex_or_middle`).
    Raises :class:`DatasetError` naming the clip and the file for an unreadable frame.
    """
    if clip.apex is None and missing_apex != "middle":
        raise DatasetError(
            f"{clip.name} ({clip.where}): the clip has no apex frame; pass missing_apex='middle' to use the "
            "middle frame between onset and offset"
        )
    paths = (clip.frame_path(clip.onset), clip.frame_path(clip.apex_or_middle()))
    images = []
    for p in paths:
        try:
            images.append(read_frame(p, size=size, colour=colour))
        except DatasetError as e:
            raise DatasetError(f"{clip.name} ({clip.where}): {e}") from e
    onset, apex = images
    if onset.shape != apex.shape:
        raise DatasetError(
            f"{clip.name}: onset frame {paths[0]} is {onset.shape[1]}x{onset.shape[0]} but apex frame {paths[1]} is "
            f"{apex.shape[1]}x{apex.shape[0]}; pass size= to resize both"
        )
    return onset, apex
