"""FER2013 (Goodfellow et al. 2013), in both forms users have.

* folder layout: ``root/train/<class>/Training_*.jpg`` and ``root/test/<class>/{PublicTest,PrivateTest}_*.jpg``
  (class folders angry, disgust, fear, happy, neutral, sad, surprise);
* the original ``fer2013.csv``: ``emotion,pixels,Usage`` with 2304 space-separated pixel values per row.

Splits: ``train`` (Training), ``val`` (PublicTest, for model selection and calibration), ``test`` (PrivateTest,
the reported figure).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from emoscope.datasets.base import FaceSet, canonical_split
from emoscope.datasets.folder import load_folder
from emoscope.errors import DatasetError
from emoscope.labels import FER2013_CLASSES

_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


def load_fer2013(path: str | Path, split: str, *, skip_bad: bool = False) -> FaceSet:
    """Load a FER2013 split from the folder layout (``path`` is the folder) or from ``fer2013.csv``."""
    p = Path(path)
    split = canonical_split(split)
    if p.is_file() or p.suffix.lower() == ".csv":
        return load_fer2013_csv(p, split, skip_bad=skip_bad)
    if not p.exists():
        raise DatasetError(f"{p}: FER2013 path does not exist (give the folder with train/ and test/, or fer2013.csv)")
    sub = p / ("train" if split == "train" else "test")
    if not sub.is_dir():
        raise DatasetError(f"{p}: not a FER2013 folder: {sub.name}/ is missing (expected train/ and test/)")
    prefix = _USAGE[split] + "_"
    fs = load_folder(sub, FER2013_CLASSES, name_filter=prefix, skip_bad=skip_bad)
    fs.name = f"fer2013/{_USAGE[split]}"
    return fs


def load_fer2013_csv(path: str | Path, split: str | None = None, *, skip_bad: bool = False) -> FaceSet:
    """Load rows of the original ``fer2013.csv`` (all rows when ``split`` is None)."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: fer2013.csv does not exist")
    want = _USAGE[canonical_split(split)] if split else None
    images, labels, where, errors = [], [], [], []
    with open(p, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:3]] != ["emotion", "pixels", "usage"]:
            raise DatasetError(f"{p}: header must be 'emotion,pixels,Usage', got {header!r}")
        for row_no, row in enumerate(reader, start=2):
            loc = f"{p}:{row_no}"
            try:
                if len(row) < 3:
                    raise ValueError(f"has {len(row)} columns, expected 3")
                if want and row[2].strip() != want:
                    continue
                label = int(row[0])
                if not 0 <= label < len(FER2013_CLASSES):
                    raise ValueError(f"emotion {label} is not in 0..6")
                px = np.array(row[1].split(), dtype=np.int64)
                if px.size != 48 * 48:
                    raise ValueError(f"pixels has {px.size} values, expected 2304")
                if px.min() < 0 or px.max() > 255:
                    raise ValueError("pixel values must be 0..255")
            except ValueError as e:
                if not skip_bad:
                    raise DatasetError(f"{loc}: malformed row: {e}") from e
                errors.append((loc, f"malformed row: {e}"))
                continue
            images.append(px.astype(np.uint8).reshape(48, 48))
            labels.append(label)
            where.append(loc)
    if not images:
        raise DatasetError(f"{p}: no rows" + (f" with Usage={want}" if want else ""))
    return FaceSet(
        images=np.stack(images),
        labels=np.asarray(labels, np.int64),
        classes=FER2013_CLASSES,
        paths=where,
        name=f"fer2013/{want or 'all'}",
        errors=errors,
    )
