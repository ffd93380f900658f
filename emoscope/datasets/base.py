"""The in-memory face dataset every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emoscope.errors import DatasetError, InputError
from emoscope.faces.preprocess import FACE_SIZE, prepare_face
from emoscope.input.images import read_image

# split name -> canonical split, shared by FER2013 and FER+ (same images, same partition)
SPLITS = {
    "train": "train", "training": "train", "fer2013train": "train",
    "val": "val", "valid": "val", "validation": "val", "publictest": "val", "fer2013valid": "val",
    "test": "test", "privatetest": "test", "fer2013test": "test",
}  # fmt: skip


def canonical_split(split: str) -> str:
    """``"PrivateTest"`` / ``"test"`` -> ``"test"``; ``"PublicTest"`` / ``"valid"`` -> ``"val"``; ``"Training"`` -> ``"train"``."""
    key = split.strip().lower()
    if key not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use train/Training, val/PublicTest/valid or test/PrivateTest")
    return SPLITS[key]


@dataclass
class FaceSet:
    """Aligned face images with labels, held in memory.

    images: ``(N, 48, 48)`` uint8 grey.
    labels: ``(N,)`` int64 index into ``classes`` (-1 where the image has no hard label).
    classes: class names (canonical emotion names, see :mod:`emoscope.labels`).
    paths: where each image came from (file path, or ``file.csv:row``).
    votes: ``(N, K)`` float32 annotator vote counts (FER+: 10 columns), or None.
    errors: ``(where, problem)`` for each input skipped when loading with ``skip_bad=True``.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    paths: list[str]
    name: str = ""
    votes: np.ndarray | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, mask_or_index: np.ndarray) -> FaceSet:
        """A new FaceSet with the selected rows (boolean mask or integer index)."""
        idx = np.asarray(mask_or_index)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp) if idx.size == 0 else idx
        return FaceSet(
            images=self.images[idx],
            labels=self.labels[idx],
            classes=self.classes,
            paths=[self.paths[i] for i in idx],
            name=self.name,
            votes=None if self.votes is None else self.votes[idx],
            errors=list(self.errors),
        )

    def class_counts(self) -> dict[str, int]:
        """Number of images per class (hard labels only)."""
        counts = np.bincount(self.labels[self.labels >= 0], minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts, strict=True)}


def load_grey_face(path: str, size: int = FACE_SIZE) -> np.ndarray:
    """Read one face image file as ``(size, size)`` uint8 grey, exactly as inference would see the same file.

    The file is decoded by the input stage's reader (:func:`emoscope.input.images.read_image`: EXIF orientation,
    alpha composited on white, 16-bit and palette images, BGR -> grey) and sized by the shared preprocessing
    (:func:`emoscope.faces.preprocess.prepare_face`), rounded to the nearest grey level. An 8-bit grey file
    without EXIF data (every FER2013 / FER+ image) takes a fast OpenCV path that gives the same pixels.
    Raises InputError naming the file.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""
    # fast path: OpenCV, only where it decodes exactly what read_image does. It decodes a truncated JPEG without
    # an error (the missing part comes out grey), so a JPEG without its end marker, like anything OpenCV cannot
    # decode, goes to the robust reader, which says precisely what is wrong.
    truncated_jpeg = data[:2] == b"\xff\xd8" and data[-2:] != b"\xff\xd9"
    img = None
    if data and not truncated_jpeg and b"Exif" not in data[:65536]:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if img is not None and (img.ndim != 2 or img.dtype != np.uint8):
            img = None  # colour, alpha, 16-bit: the reader's conversions
    if img is None:
        img = read_image(path, grey=True)
    if img.size == 0:
        raise InputError(path, "image has no pixels")
    if img.shape != (size, size):
        img = np.clip(np.rint(prepare_face(img, size)), 0, 255).astype(np.uint8)
    return img


def load_images(paths: list[str], skip_bad: bool, errors: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Read many face files. Returns ``(images (N, 48, 48) uint8, ok mask (len(paths),))``.

    A bad file raises :class:`DatasetError` naming it, or with ``skip_bad`` is recorded in ``errors``.
    """
    out = np.zeros((len(paths), FACE_SIZE, FACE_SIZE), np.uint8)
    ok = np.ones(len(paths), bool)
    for i, p in enumerate(paths):
        try:
            out[i] = load_grey_face(p)
        except InputError as e:
            if not skip_bad:
                raise DatasetError(f"unreadable image {e}") from e
            errors.append((p, e.problem))
            ok[i] = False
    return out[ok], ok
