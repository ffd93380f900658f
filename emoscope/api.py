"""The Python API: analyse images in one call, get typed results.

>>> import emoscope
>>> res = emoscope.analyze("photo.jpg")            # detect -> align -> classify every face
>>> [(f.box, f.label) for f in res.faces]
>>> res.to_dataframe()

:class:`Analyzer` holds the models (load once, reuse for many images); :func:`analyze` and
:func:`analyze_aligned` use one default :class:`Analyzer` per process, created on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emoscope.errors import InputError
from emoscope.input.images import MAX_IMAGE_PIXELS, read_image
from emoscope.outputs.results import FaceResult, ImageResult
from emoscope.tasks.expression.predictor import ExpressionRecognizer

#: What :meth:`Analyzer.analyze` and :meth:`Analyzer.analyze_aligned` take, in words (used in error messages).
ACCEPTED_IMAGES = ("a file path (str or os.PathLike) or a numpy array of shape (H, W) grey, (H, W, 1), (H, W, 3) BGR "
                   "or (H, W, 4) BGRA")  # fmt: skip


class Analyzer:
    """Face detection + alignment + expression recognition.

    recognizer: an :class:`ExpressionRecognizer` (default: the shipped model, FER+ 8-emotion head).
    detector: anything with ``detect(image) -> list[Detection]`` (default: ``emoscope.faces.create_detector()``),
        created on first use so that crop-only use needs no detector.
    max_pixels: images with more pixels are refused before decoding.
    affect: add the affect readings to every face (compound label, intensity, valence / arousal; see
        :mod:`emoscope.tasks.affect`): True, False, or None = when the model carries a fitted compound rule
        (``emoscope calibrate compound``; the shipped model does).
    va_model: a valence/arousal ``.onnx`` (``emoscope export va``) for measured valence / arousal; without it they
        are DERIVED from the emotion distribution (``va_source == "derived"``). Implies ``affect``.
    """

    def __init__(self, recognizer: ExpressionRecognizer | None = None, detector=None, max_pixels: int = MAX_IMAGE_PIXELS,
                 affect: bool | None = None, va_model: str | Path | None = None):  # fmt: skip
        if recognizer is not None and not _is_recognizer(recognizer):
            raise TypeError(f"recognizer must be an emoscope ExpressionRecognizer or None (the shipped model); got "
                            f"{type(recognizer).__name__}")  # fmt: skip
        self.recognizer = recognizer or ExpressionRecognizer()
        self._detector = detector
        self.max_pixels = max_pixels
        self.affect_reader = None
        from emoscope.tasks.affect.reader import AffectReader

        if va_model is not None or affect or (affect is None and AffectReader.available(self.recognizer)):
            self.affect_reader = AffectReader.for_recognizer(self.recognizer, va_model)

    @property
    def detector(self):
        if self._detector is None:
            from emoscope.faces.detect import create_detector

            self._detector = create_detector()
        return self._detector

    def _load(self, image: np.ndarray | str | Path, file: str | None) -> tuple[np.ndarray, str | None]:
        if isinstance(image, np.ndarray):
            if image.size == 0:
                raise InputError(file or "<array>", "image has no pixels")
            return _checked_array(image, file), file
        if isinstance(image, (bytes, bytearray, memoryview)):
            raise TypeError(f"image must be {ACCEPTED_IMAGES}; got {type(image).__name__} (decode encoded bytes "
                            "with emoscope.input.images.read_image_bytes first)")  # fmt: skip
        if not isinstance(image, (str, os.PathLike)):
            raise TypeError(f"image must be {ACCEPTED_IMAGES}; got {type(image).__name__}")
        return read_image(image, max_pixels=self.max_pixels), file or str(image)

    def _faces(self, crops: list[np.ndarray], boxes: list[tuple[int, int, int, int]], scores: list[float]) -> list[FaceResult]:
        if not crops:
            return []
        rec = self.recognizer
        probs = rec.predict_proba(crops)
        faces = [
            FaceResult(box=tuple(int(v) for v in b), label=rec.classes[int(p.argmax())],
                       probabilities={c: float(v) for c, v in zip(rec.classes, p, strict=True)}, score=float(s))
            for b, s, p in zip(boxes, scores, probs, strict=True)
        ]  # fmt: skip
        if self.affect_reader is not None:
            for f, r in zip(faces, self.affect_reader.read(probs, crops), strict=True):
                r.apply_to(f)
        return faces

    def analyze(self, image: np.ndarray | str | Path, *, file: str | None = None) -> ImageResult:
        """Find every face in ``image`` (a path, or an ``(H, W)`` grey / ``(H, W, 3)`` BGR array), align it to the
        training framing and classify it. No face -> ``faces == []``. Unreadable file -> :class:`InputError`; another
        type -> TypeError, an array of another shape or dtype -> ValueError (see :data:`ACCEPTED_IMAGES`)."""
        from emoscope.faces.align import align_face

        img, file = self._load(image, file)
        dets = self.detector.detect(img)
        crops = [align_face(img, d) for d in dets]
        faces = self._faces(crops, [d.box for d in dets], [d.score for d in dets])
        return ImageResult(file=file, faces=faces, width=img.shape[1], height=img.shape[0])

    def analyze_aligned(self, image: np.ndarray | str | Path, *, file: str | None = None) -> ImageResult:
        """Classify an image that already is a face crop (the whole image is the face, box = the image). Takes what
        :meth:`analyze` takes."""
        img, file = self._load(image, file)
        h, w = img.shape[:2]
        if min(h, w) < MIN_ALIGNED_SIDE:
            raise ValueError(f"{file or '<array>'}: an aligned face crop must be at least {MIN_ALIGNED_SIDE}x"
                             f"{MIN_ALIGNED_SIDE} pixels; got {w}x{h}")  # fmt: skip
        return ImageResult(file=file, faces=self._faces([img], [(0, 0, w, h)], [1.0]), width=w, height=h)


def _checked_array(image: np.ndarray, file: str | None) -> np.ndarray:
    """``image`` if it is a picture the pipeline takes (see :data:`ACCEPTED_IMAGES`), else a ValueError saying so."""
    what = f"{file}: " if file else ""
    shape_ok = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))
    if not shape_ok:
        raise ValueError(f"{what}image array must be (H, W) grey, (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA; got "
                         f"shape {image.shape}" + (" (one image at a time)" if image.ndim == 4 else ""))  # fmt: skip
    numeric = image.dtype == bool or np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)
    if not numeric:
        raise ValueError(f"{what}image array must hold numbers (uint8, uint16, bool or float in [0, 1]); got dtype "
                         f"{image.dtype}")  # fmt: skip
    if np.issubdtype(image.dtype, np.floating) and not np.isfinite(image).all():
        raise ValueError(f"{what}image array holds NaN or infinite values (floats must be finite, in [0, 1])")
    return image


def _is_recognizer(obj: object) -> bool:
    """Whether ``obj`` can serve as the expression recognizer (an :class:`ExpressionRecognizer` or a look-alike with
    ``classes`` and ``predict_proba``)."""
    return isinstance(obj, ExpressionRecognizer) or (hasattr(obj, "predict_proba") and hasattr(obj, "classes"))


#: Smallest side (pixels) of an image given to :meth:`Analyzer.analyze_aligned`: a smaller one holds no face.
MIN_ALIGNED_SIDE = 8


_DEFAULT: dict[str, Analyzer] = {}


def default_analyzer() -> Analyzer:
    """The per-process default :class:`Analyzer` (shipped model, default detector), created on first use."""
    if "default" not in _DEFAULT:
        _DEFAULT["default"] = Analyzer()
    return _DEFAULT["default"]


def analyze(image: np.ndarray | str | Path, *, file: str | None = None) -> ImageResult:
    """Detect, align and classify every face in ``image`` with the default :class:`Analyzer`."""
    return default_analyzer().analyze(image, file=file)


def analyze_aligned(image: np.ndarray | str | Path, *, recognizer: ExpressionRecognizer | None = None,
                    file: str | None = None) -> ImageResult:  # fmt: skip
    """Classify an image that is already a face crop (see :meth:`Analyzer.analyze_aligned`)."""
    if recognizer is not None and not _is_recognizer(recognizer):
        raise TypeError(f"recognizer must be an emoscope ExpressionRecognizer (e.g. ExpressionRecognizer('model.onnx'))"
                        f" or None (the shipped model); got {type(recognizer).__name__}")  # fmt: skip
    analyzer = Analyzer(recognizer) if recognizer is not None else default_analyzer()
    return analyzer.analyze_aligned(image, file=file)
