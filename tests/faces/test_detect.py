"""Face detector on generated pictures only (the built-in schematic faces; no research data)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emoscope.faces.detect import (
    LANDMARK_NAMES,
    Detection,
    DlibFaceDetector,
    FaceDetector,
    available_detectors,
    create_detector,
    register_detector,
    to_grey_uint8,
)
from emoscope.faces.scenes import box_iou
from emoscope.outputs.demo import schematic_face

pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return create_detector()


def _canvas(face: np.ndarray, x: int, y: int, h: int = 480, w: int = 640) -> np.ndarray:
    img = np.full((h, w, 3), 128, np.uint8)
    img[y : y + face.shape[0], x : x + face.shape[1]] = face
    return img


def _check_face(d: Detection, box: tuple[int, int, int, int]) -> None:
    assert box_iou(d.box, box) > 0.5, (d.box, box)
    assert 0.9 < d.score <= 1.0
    assert d.landmarks.shape == (len(LANDMARK_NAMES), 2)
    assert d.landmarks.dtype == np.float32
    x, y, w, h = box
    assert (d.landmarks[:, 0] > x).all() and (d.landmarks[:, 0] < x + w).all()
    assert (d.landmarks[:, 1] > y).all() and (d.landmarks[:, 1] < y + h).all()
    assert d.right_eye[0] < d.left_eye[0]  # the subject's right eye is on the left of the picture
    eye_y = (d.right_eye[1] + d.left_eye[1]) / 2
    assert eye_y < d.nose[1] < d.mouth[1]
    assert abs(d.roll) < 8


def test_factory_and_protocol(detector):
    assert isinstance(detector, DlibFaceDetector)
    assert isinstance(detector, FaceDetector)
    assert "dlib" in available_detectors()
    with pytest.raises(ValueError, match="unknown face detector"):
        create_detector("no-such-backend")
    with pytest.raises(ValueError):
        create_detector(landmarks="7")


def test_register_another_backend():
    class Fixed:
        def __init__(self, box=(1, 2, 3, 4)):
            self.box = box

        def detect(self, image):
            return [Detection(self.box, 0.5, np.zeros((5, 2), np.float32))]

    register_detector("fixed-test", Fixed)
    det = create_detector("fixed-test", box=(5, 6, 7, 8))
    assert isinstance(det, FaceDetector)
    assert det.detect(np.zeros((10, 10), np.uint8))[0].box == (5, 6, 7, 8)
    for taken in ("fixed-test", "dlib", "default"):  # a name is not silently replaced
        with pytest.raises(ValueError, match="already registered"):
            register_detector(taken, Fixed)
    register_detector("fixed-test", Fixed, overwrite=True)


@pytest.mark.parametrize("shape", [(480, 640, 3), (480, 640), (200, 300, 4)])
def test_blank_image_has_no_face(detector, shape):
    assert detector.detect(np.zeros(shape, np.uint8)) == []
    assert detector.detect(np.full(shape, 200, np.uint8)) == []


def test_smooth_gradient_has_no_face(detector):
    g = np.tile(np.linspace(0, 255, 640, dtype=np.float32), (480, 1)).astype(np.uint8)
    assert detector.detect(g) == []


@pytest.mark.parametrize("shape", [(0, 0), (0, 10, 3), (1, 1), (5, 7, 3), (7, 300)])
def test_tiny_or_empty_images(detector, shape):
    assert detector.detect(np.zeros(shape, np.uint8)) == []


def test_bad_shapes_raise(detector):
    with pytest.raises(ValueError):
        detector.detect(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((4, 10, 10, 3), np.uint8))


def test_finds_schematic_face_with_landmarks(detector):
    face = schematic_face("smile")  # 192 x 192 BGR
    img = _canvas(face, 300, 150)
    found = detector.detect(img)
    assert len(found) == 1
    # the detector's box is the inner face (about 80% of the drawing)
    _check_face(found[0], (300, 150, 192, 192))


@pytest.mark.parametrize("mode", ["grey", "grey1", "bgra", "rgba", "uint16", "float01"])
def test_input_formats_give_the_same_faces(detector, mode):
    bgr = _canvas(schematic_face("surprise"), 120, 60)
    ref = detector.detect(bgr)
    assert len(ref) == 1
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    alpha = np.full(bgr.shape[:2] + (1,), 255, np.uint8)
    img = {
        "grey": grey,
        "grey1": grey[:, :, None],
        "bgra": np.concatenate([bgr, alpha], axis=2),
        "rgba": np.concatenate([bgr[:, :, ::-1], alpha], axis=2),  # same grey: the face is grey
        "uint16": bgr.astype(np.uint16) * 257,
        "float01": bgr.astype(np.float32) / 255.0,
    }[mode]
    got = detector.detect(img)
    assert len(got) == 1
    assert box_iou(got[0].box, ref[0].box) > 0.9
    assert np.abs(got[0].landmarks - ref[0].landmarks).max() < 2.0


def test_to_grey_uint8():
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in BGR
    g = to_grey_uint8(bgr)
    assert g.shape == (4, 5) and g.dtype == np.uint8 and int(g[0, 0]) == 76  # 0.299 * 255
    assert int(to_grey_uint8(np.full((2, 2), 65535, np.uint16))[0, 0]) == 255
    assert int(to_grey_uint8(np.full((2, 2), 0.5, np.float32))[0, 0]) == 128
    assert to_grey_uint8(np.zeros((3, 3, 4), np.uint8)).shape == (3, 3)


def test_face_filling_a_tiny_picture(detector):
    """An already cropped 48x48 face: the detector enlarges and pads small pictures."""
    face = cv2.resize(schematic_face("neutral"), (48, 48), interpolation=cv2.INTER_AREA)
    found = detector.detect(face)
    assert len(found) == 1
    d = found[0]
    assert d.box[0] >= 0 and d.box[1] >= 0 and d.box[0] + d.box[2] <= 48 and d.box[1] + d.box[3] <= 48
    assert d.box[2] > 24
    assert d.right_eye[0] < 24 < d.left_eye[0]


def test_large_picture_is_searched_downscaled(detector):
    face = cv2.resize(schematic_face("smile"), (576, 576), interpolation=cv2.INTER_CUBIC)
    img = _canvas(face, 1500, 700, h=1800, w=2400)
    found = detector.detect(img)
    assert len(found) == 1
    _check_face(found[0], (1500, 700, 576, 576))


def test_rotated_face_found_with_rotated_search():
    face = schematic_face("smile")
    img = _canvas(face, 224, 144)
    m = cv2.getRotationMatrix2D((224 + 96, 144 + 96), 30, 1.0)  # 30 deg counter-clockwise about the face centre
    rotated = cv2.warpAffine(img, m, (640, 480), borderValue=(128, 128, 128))
    det = create_detector(rotations=(0, -30, 30))
    found = det.detect(rotated)
    assert len(found) == 1
    d = found[0]
    assert abs(d.roll - 30) < 6, d.roll
    centre = np.array([d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2])
    assert np.hypot(*(centre - (224 + 96, 144 + 96 + 10))) < 25


def test_five_point_model_marks_placed_mouth(detector):
    d = detector.detect(_canvas(schematic_face("smile"), 300, 150))[0]
    assert d.measured == (True, True, True, False, False)
