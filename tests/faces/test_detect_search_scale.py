"""``DlibFaceDetector(search_scale=...)``: one resize instead of the upsample doublings (generated pictures only)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emoscope.faces.detect import create_detector
from emoscope.faces.scenes import box_iou
from emoscope.outputs.demo import schematic_face

pytest.importorskip("dlib")


def _canvas(face: np.ndarray, x: int, y: int, h: int = 480, w: int = 640) -> np.ndarray:
    img = np.full((h, w, 3), 128, np.uint8)
    img[y : y + face.shape[0], x : x + face.shape[1]] = face
    return img


@pytest.mark.parametrize("side", [72, 192])
def test_search_scale_finds_the_faces_upsample_finds(side):
    face = cv2.resize(schematic_face("smile"), (side, side), interpolation=cv2.INTER_AREA)
    img = _canvas(face, 250, 120)
    ref = create_detector()
    fast = create_detector(search_scale=1.67)
    assert "search_scale=1.67" in repr(fast) and "search_scale" not in repr(ref)
    a, b = ref.detect(img), fast.detect(img)
    assert len(a) == len(b) == 1
    assert box_iou(a[0].box, b[0].box) > 0.7
    # landmarks are fitted on the full-resolution picture in both cases
    assert np.abs(a[0].landmarks[:3] - b[0].landmarks[:3]).max() < 0.08 * side


def test_search_scale_on_large_and_tiny_pictures():
    fast = create_detector(search_scale=1.67)
    big = _canvas(cv2.resize(schematic_face("smile"), (576, 576)), 1500, 700, h=1800, w=2400)
    found = fast.detect(big)
    assert len(found) == 1 and box_iou(found[0].box, (1500, 700, 576, 576)) > 0.4
    tiny = cv2.resize(schematic_face("neutral"), (48, 48), interpolation=cv2.INTER_AREA)
    found = fast.detect(tiny)  # small pictures take the enlarge-and-pad path, as without search_scale
    assert len(found) == 1 and found[0].right_eye[0] < 24 < found[0].left_eye[0]
    assert fast.detect(np.zeros((480, 640), np.uint8)) == []
