"""The Python API: analyse images in one call, get typed results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoscope.input.images import read_image
from emoscope.outputs.results import FaceResult, ImageResult
from emoscope.tasks.expression.predictor import ExpressionRecognizer

_DEFAULT: dict[str, ExpressionRecognizer] = {}


def _recognizer(recognizer: ExpressionRecognizer | None) -> ExpressionRecognizer:
    if recognizer is not None:
        return recognizer
    if "default" not in _DEFAULT:  # the shipped model is loaded once per process, on first use
        _DEFAULT["default"] = ExpressionRecognizer()
    return _DEFAULT["default"]


def analyze_aligned(
    image: np.ndarray | str | Path,
    *,
    recognizer: ExpressionRecognizer | None = None,
    file: str | None = None,
) -> ImageResult:
    """Classify an image that is already a face crop (the whole image is the face).

    image: an ``(H, W)`` / ``(H, W, 3)`` BGR array, or a path. Returns an :class:`ImageResult` with one face whose
    box is the whole image.
    """
    if not isinstance(image, np.ndarray):
        file = file or str(image)
        image = read_image(image)
    rec = _recognizer(recognizer)
    h, w = image.shape[:2]
    p = rec.predict_proba([image])[0]
    face = FaceResult(
        box=(0, 0, w, h),
        label=rec.classes[int(p.argmax())],
        probabilities={c: float(v) for c, v in zip(rec.classes, p, strict=True)},
    )
    return ImageResult(file=file, faces=[face], width=w, height=h)
