"""FER+ (Barsoum et al. 2016): 10 annotator votes per FER2013 image.

Vote columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF (not a face).

Layouts supported:
* the official folders ``root/FER2013{Train,Valid,Test}/`` with ``fer*.png`` and a ``label.csv`` each;
* ``fer2013new.csv`` (``Usage,Image name,<10 votes>``, one row per ``fer2013.csv`` row, empty name = not a
  face), with the images taken from those folders or from ``fer2013.csv`` pixels.

Hard labels, two protocols:

* ``official_majority_labels`` (used for reported test figures): the protocol of the FER+ authors' reference
  reader (Barsoum et al. 2016, microsoft/FERPlus, mode "majority", which they use for validation and test): a
  class with a single vote is an outlier and its vote is dropped; the label is the emotion that then holds more
  than half of the remaining votes; any other image (no clear majority, or ``unknown`` / ``NF`` on top) is left
  out. FER2013Test: 3,137 of 3,573 images keep a label.
* ``majority_labels`` ("plurality", ``FaceSet.labels``, used for training and model selection): the emotion with
  the most votes (ties: first in the column order); images whose top vote is ``unknown`` or ``NF``, or that have
  no votes, get label -1. FER2013Test: 3,545 images keep a label, ambiguous ones included.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from emoscope.datasets.base import FaceSet, canonical_split, load_images
from emoscope.datasets.fer2013 import load_fer2013_csv
from emoscope.errors import DatasetError
from emoscope.labels import FERPLUS_CLASSES

_FOLDERS = {"train": "FER2013Train", "val": "FER2013Valid", "test": "FER2013Test"}
_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """``(N, 10)`` votes -> ``(N,)`` majority emotion index into FERPLUS_CLASSES, -1 if unknown/NF/no votes."""
    top = votes.argmax(axis=1)
    lab = np.where(top < len(FERPLUS_CLASSES), top, -1)
    lab[votes.sum(axis=1) <= 0] = -1
    return lab.astype(np.int64)


def official_majority_labels(votes: np.ndarray) -> np.ndarray:
    """``(N, 10)`` votes -> ``(N,)`` emotion index by the FER+ authors' "majority" protocol, -1 where it has none.

    Votes of 1 are dropped (one annotator alone is an outlier); an image is labelled with the emotion holding
    more than half of the remaining votes, else -1 (also when ``unknown`` or ``NF`` holds that majority).
    """
    v = np.asarray(votes, dtype=np.float64).copy()
    if v.size == 0:
        return np.zeros(len(v), np.int64)
    v[v <= 1] = 0
    top = v.argmax(axis=1)
    ok = (v.max(axis=1) > 0.5 * v.sum(axis=1)) & (top < len(FERPLUS_CLASSES))
    return np.where(ok, top, -1).astype(np.int64)


def vote_distribution(votes: np.ndarray) -> np.ndarray:
    """``(N, 10)`` votes -> ``(N, 8)`` distribution over the 8 emotions (rows with no emotion vote are all 0)."""
    v = votes[:, : len(FERPLUS_CLASSES)].astype(np.float32)
    s = v.sum(axis=1, keepdims=True)
    return np.divide(v, s, out=np.zeros_like(v), where=s > 0)


def load_ferplus(path: str | Path, split: str, *, skip_bad: bool = False, fer2013_csv: str | Path | None = None) -> FaceSet:
    """Load a FER+ split.

    path: the FER+ root folder (with ``FER2013Train/`` etc.), or ``fer2013new.csv`` (images are then read from
        the folders beside it, or from ``fer2013_csv`` when given).
    """
    p = Path(path)
    split = canonical_split(split)
    if p.suffix.lower() == ".csv":
        return load_ferplus_csv(p, split, skip_bad=skip_bad, fer2013_csv=fer2013_csv)
    if not p.is_dir():
        raise DatasetError(f"{p}: FER+ folder does not exist")
    folder = p / _FOLDERS[split]
    label_csv = folder / "label.csv"
    if not label_csv.is_file():
        raise DatasetError(f"{p}: not a FER+ layout: {folder.name}/label.csv is missing")
    names, votes, errors = [], [], []
    with open(label_csv, newline="") as f:
        for row_no, row in enumerate(csv.reader(f), start=1):
            loc = f"{label_csv}:{row_no}"
            try:
                if len(row) != 12:
                    raise ValueError(f"has {len(row)} columns, expected 12 (image, box, 10 vote counts)")
                v = [float(x) for x in row[2:]]
                if min(v) < 0:
                    raise ValueError("negative vote count")
            except ValueError as e:
                if not skip_bad:
                    raise DatasetError(f"{loc}: malformed row: {e}") from e
                errors.append((loc, f"malformed row: {e}"))
                continue
            names.append(row[0])
            votes.append(v)
    if not names:
        raise DatasetError(f"{label_csv}: no usable rows")
    paths = [str(folder / n) for n in names]
    images, ok = load_images(paths, skip_bad, errors)
    vv = np.asarray(votes, np.float32)[ok]
    return FaceSet(
        images=images,
        labels=majority_labels(vv),
        classes=FERPLUS_CLASSES,
        paths=[q for q, g in zip(paths, ok, strict=True) if g],
        name=f"ferplus/{_FOLDERS[split]}",
        votes=vv,
        errors=errors,
    )


def load_ferplus_csv(
    path: str | Path, split: str, *, skip_bad: bool = False, fer2013_csv: str | Path | None = None
) -> FaceSet:
    """Load a split from ``fer2013new.csv``; images from ``fer2013_csv`` (row-aligned) or the folders beside it."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: fer2013new.csv does not exist")
    split = canonical_split(split)
    want = _USAGE[split]
    rows: list[tuple[int, str, list[float]]] = []
    errors: list[tuple[str, str]] = []
    with open(p, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or len(header) != 12 or header[0].strip().lower() != "usage":
            raise DatasetError(f"{p}: header must be 'Usage,Image name,<10 vote columns>', got {header!r}")
        for data_idx, row in enumerate(reader):
            loc = f"{p}:{data_idx + 2}"
            try:
                if len(row) != 12:
                    raise ValueError(f"has {len(row)} columns, expected 12")
                if row[0].strip() != want or not row[1].strip():
                    continue  # other split, or not a face (empty image name)
                v = [float(x) for x in row[2:]]
            except ValueError as e:
                if not skip_bad:
                    raise DatasetError(f"{loc}: malformed row: {e}") from e
                errors.append((loc, f"malformed row: {e}"))
                continue
            rows.append((data_idx, row[1].strip(), v))
    if not rows:
        raise DatasetError(f"{p}: no face rows with Usage={want}")
    votes = np.asarray([r[2] for r in rows], np.float32)
    if fer2013_csv is not None:
        base = load_fer2013_csv(fer2013_csv)  # all rows, row-aligned with fer2013new.csv
        idx = np.asarray([r[0] for r in rows])
        if idx.max() >= len(base):
            raise DatasetError(f"{fer2013_csv}: has {len(base)} rows but {p} refers to row {idx.max() + 2}")
        images, paths, ok = base.images[idx], [base.paths[i] for i in idx], np.ones(len(rows), bool)
    else:
        folder = p.parent / _FOLDERS[split]
        if not folder.is_dir():
            raise DatasetError(f"{p}: images not found: {folder} is missing (or pass fer2013_csv=...)")
        paths = [str(folder / r[1]) for r in rows]
        images, ok = load_images(paths, skip_bad, errors)
        paths = [q for q, g in zip(paths, ok, strict=True) if g]
    votes = votes[ok]
    return FaceSet(images, majority_labels(votes), FERPLUS_CLASSES, paths, f"ferplus/{want}", votes, errors)


def match_images(a: np.ndarray, b: np.ndarray, max_mean_abs_diff: float = 6.0, chunk: int = 2048) -> np.ndarray:
    """For each image of ``a`` find the same picture in ``b`` (e.g. a FER2013 JPEG and its lossless FER+ PNG).

    a: ``(N, H, W)`` uint8, b: ``(M, H, W)`` uint8. Returns ``(N,)`` int64 index into ``b``, -1 where no image of
    ``b`` is within ``max_mean_abs_diff`` grey levels (mean absolute difference over all pixels).
    """
    import cv2

    def desc(x: np.ndarray) -> np.ndarray:
        d = np.stack([cv2.resize(im, (12, 12), interpolation=cv2.INTER_AREA) for im in x]).reshape(len(x), -1)
        return d.astype(np.float32)

    da, db = desc(a), desc(b)
    nb = (db**2).sum(1)
    out = np.full(len(a), -1, np.int64)
    for s in range(0, len(a), chunk):
        q = da[s : s + chunk]
        d2 = (q**2).sum(1)[:, None] + nb[None, :] - 2.0 * q @ db.T
        cand = d2.argmin(axis=1)
        diff = np.abs(a[s : s + chunk].astype(np.int16) - b[cand].astype(np.int16)).mean(axis=(1, 2))
        out[s : s + chunk] = np.where(diff <= max_mean_abs_diff, cand, -1)
    return out
