"""AffectNet-format valence / arousal data (Mollahosseini, Hasani & Mahoor 2017).

A CSV with a header row and the columns ``subDirectory_filePath, face_x, face_y, face_width, face_height,
facial_landmarks, expression, valence, arousal`` (AffectNet's ``training.csv`` / ``validation.csv``); image paths
are relative to an image root (AffectNet: ``Manually_Annotated_Images/``). Valence and arousal are in [-1, 1];
AffectNet writes -2 for images without them (expression 8-10: none, uncertain, no face): those rows are skipped
and counted, not errors.

Each face is cut out of its image and brought to the framing of the expression models (48x48 grey): with the 68
``facial_landmarks`` (``x;y;x;y;...``, iBUG order) the eye centres (points 37-42 and 43-48, 1-based) are aligned
to the FER2013 eye template like detected faces are (:func:`emoscope.faces.align.align_face`); without landmarks
the square around the face box (side = the longer box side) is used.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emoscope.errors import DatasetError, InputError
from emoscope.faces.preprocess import FACE_SIZE

#: AffectNet expression codes 0..7 as canonical emotion names (8 none, 9 uncertain, 10 no face -> -1).
AFFECTNET_CLASSES: tuple[str, ...] = (
    "neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt",
)  # fmt: skip

#: The columns of AffectNet's CSV files (``facial_landmarks`` and ``expression`` may be empty).
AFFECTNET_COLUMNS: tuple[str, ...] = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks", "expression",
    "valence", "arousal",
)  # fmt: skip
_REQUIRED = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "valence", "arousal")


@dataclass
class AffectSet:
    """Aligned faces with valence / arousal labels, held in memory.

    images: ``(N, 48, 48)`` uint8 grey, framed like FER2013.
    valence, arousal: ``(N,)`` float32 in [-1, 1].
    expression: ``(N,)`` int64 index into :data:`AFFECTNET_CLASSES` (-1: none / uncertain / no face / empty).
    paths: image file of each face.
    no_va: rows skipped because they have no valence / arousal (AffectNet's -2).
    errors: ``(where, problem)`` of the rows skipped with ``skip_bad=True``.
    """

    images: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    expression: np.ndarray
    paths: list[str]
    name: str = ""
    no_va: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def va(self) -> np.ndarray:
        """``(N, 2)`` float32 (valence, arousal)."""
        return np.stack([self.valence, self.arousal], axis=1)

    def subset(self, index: np.ndarray) -> AffectSet:
        """A new AffectSet with the rows ``index`` (integer array or boolean mask)."""
        idx = np.asarray(index)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp)
        return AffectSet(self.images[idx], self.valence[idx], self.arousal[idx], self.expression[idx],
                         [self.paths[i] for i in idx], self.name, self.no_va, list(self.errors))  # fmt: skip


def _crop_face(
    img: np.ndarray, box: tuple[float, float, float, float], landmarks: np.ndarray | None
) -> np.ndarray:
    """One face of a grey picture -> ``(48, 48)`` uint8, aligned on the eyes when ``landmarks`` (68, 2) are given."""
    from emoscope.faces.align import align_face, alignment_matrix

    if landmarks is not None:
        eyes = np.stack([landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)])
        if np.isfinite(eyes).all() and np.hypot(*(eyes[1] - eyes[0])) > 1.0:
            return align_face(img, matrix=alignment_matrix(eyes, FACE_SIZE))
    x, y, w, h = box
    side = max(w, h)
    if side <= 0:
        raise ValueError(f"face box {box} is empty")
    s = FACE_SIZE / side
    cx, cy = x + w / 2 - 0.5, y + h / 2 - 0.5  # box centre, pixel-centre coordinates
    c = (FACE_SIZE - 1) / 2
    return align_face(img, matrix=np.array([[s, 0.0, c - s * cx], [0.0, s, c - s * cy]]))


def _parse_landmarks(text: str) -> np.ndarray | None:
    text = (text or "").strip()
    if not text:
        return None
    vals = [float(v) for v in text.replace(",", ";").split(";") if v.strip()]
    if len(vals) != 136:
        raise ValueError(f"facial_landmarks has {len(vals)} numbers, expected 136 (68 x, y pairs)")
    return np.asarray(vals, np.float64).reshape(68, 2)


def load_affectnet(
    csv_path: str | Path,
    images: str | Path | None = None,
    *,
    skip_bad: bool = False,
    limit: int = 0,
    seed: int = 0,
) -> AffectSet:
    """Load an AffectNet-format CSV.

    csv_path: the CSV (``training.csv``, ``validation.csv`` or any file with :data:`AFFECTNET_COLUMNS`).
    images: root the ``subDirectory_filePath`` column is relative to (default: the CSV's folder).
    skip_bad: skip (and record in ``errors``) malformed rows and unreadable images instead of raising
        :class:`DatasetError` naming ``file:row``.
    limit: keep a seeded random subset of N labelled rows (chosen before any image is read); 0 = all.
    """
    from emoscope.input.images import read_image

    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise DatasetError(f"{csv_path}: AffectNet CSV does not exist")
    root = Path(images) if images is not None else csv_path.parent
    if not root.is_dir():
        raise DatasetError(f"{root}: image folder does not exist")
    rows: list[tuple[str, str, tuple[float, ...], np.ndarray | None, int, float, float]] = []
    errors: list[tuple[str, str]] = []
    no_va = 0
    with open(csv_path, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise DatasetError(f"{csv_path}: header lacks the AffectNet columns {missing}; got {header}")
        col = {c: header.index(c) for c in header}
        for row_no, row in enumerate(reader, start=2):
            loc = f"{csv_path}:{row_no}"
            if not row or not any(v.strip() for v in row):
                continue
            try:
                if len(row) != len(header):
                    raise ValueError(f"has {len(row)} columns, the header {len(header)}")
                val, aro = float(row[col["valence"]]), float(row[col["arousal"]])
                if not (-1.0 <= val <= 1.0 and -1.0 <= aro <= 1.0):
                    no_va += 1
                    continue
                box = tuple(float(row[col[c]]) for c in ("face_x", "face_y", "face_width", "face_height"))
                lm = _parse_landmarks(row[col["facial_landmarks"]]) if "facial_landmarks" in col else None
                ex_text = row[col["expression"]].strip() if "expression" in col else ""
                ex = int(float(ex_text)) if ex_text else -1
                name = row[col["subDirectory_filePath"]].strip()
                if not name:
                    raise ValueError("empty subDirectory_filePath")
            except ValueError as e:
                if not skip_bad:
                    raise DatasetError(f"{loc}: malformed row: {e}") from e
                errors.append((loc, f"malformed row: {e}"))
                continue
            rows.append((loc, name, box, lm, ex if 0 <= ex < len(AFFECTNET_CLASSES) else -1, val, aro))
    if limit and limit < len(rows):
        pick = np.sort(np.random.default_rng(seed).permutation(len(rows))[:limit])
        rows = [rows[i] for i in pick]
    out = np.zeros((len(rows), FACE_SIZE, FACE_SIZE), np.uint8)
    ok = np.ones(len(rows), bool)
    for i, (loc, name, box, lm, _, _, _) in enumerate(rows):
        path = root / name
        try:
            out[i] = _crop_face(read_image(path, grey=True), box, lm)
        except (InputError, ValueError) as e:
            problem = e.problem if isinstance(e, InputError) else str(e)
            if not skip_bad:
                raise DatasetError(f"{loc}: {path}: {problem}") from e
            errors.append((loc, f"{path}: {problem}"))
            ok[i] = False
    rows = [r for r, g in zip(rows, ok, strict=True) if g]
    if not rows:
        raise DatasetError(
            f"{csv_path}: no usable rows with valence and arousal ({no_va} without, {len(errors)} bad)"
        )
    return AffectSet(
        images=out[ok],
        valence=np.asarray([r[5] for r in rows], np.float32),
        arousal=np.asarray([r[6] for r in rows], np.float32),
        expression=np.asarray([r[4] for r in rows], np.int64),
        paths=[str(root / r[1]) for r in rows],
        name=f"affectnet/{csv_path.name}",
        no_va=no_va,
        errors=errors,
    )
