"""Alignment geometry on synthetic landmarks and drawn pictures (no research data, no detector)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from emoscope.faces.align import (
    EYE_DISTANCE,
    EYE_MID_X,
    EYE_Y,
    align_face,
    align_faces,
    alignment_matrix,
    eye_template,
)
from emoscope.faces.detect import Detection


def _apply(m: np.ndarray, pts) -> np.ndarray:
    p = np.asarray(pts, np.float64)
    return p @ m[:, :2].T + m[:, 2]


def _rotate_points(pts, centre, angle_deg) -> np.ndarray:
    """The points moved as OpenCV's getRotationMatrix2D(centre, angle) moves pixels (counter-clockwise on screen)."""
    return _apply(cv2.getRotationMatrix2D(tuple(float(c) for c in centre), angle_deg, 1.0), pts)


def _face_picture(right_eye, left_eye, h=400, w=500) -> np.ndarray:
    """Grey picture with a bright disc on each eye and a mouth bar (for checking where the eyes end up)."""
    img = np.full((h, w), 40, np.uint8)
    for p in (right_eye, left_eye):
        cv2.circle(img, (round(p[0] * 16), round(p[1] * 16)), 6 * 16, 255, -1, cv2.LINE_AA, shift=4)
    mid = (np.asarray(right_eye) + np.asarray(left_eye)) / 2
    cv2.ellipse(img, (round(mid[0]), round(mid[1] + 70)), (30, 8), 0, 0, 360, 100, -1)
    return img


def _blob_centres(crop: np.ndarray, thr: int = 128) -> np.ndarray:
    n, lab, stats, cents = cv2.connectedComponentsWithStats((crop > thr).astype(np.uint8))
    big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 4]
    c = cents[big]
    return c[np.argsort(c[:, 0])]


def test_template_numbers_are_sane():
    assert 0.45 < EYE_MID_X < 0.55
    assert 0.3 < EYE_Y < 0.5
    assert 0.3 < EYE_DISTANCE < 0.45
    right, left = eye_template(48)
    assert right[1] == left[1]
    assert math.isclose(left[0] - right[0], EYE_DISTANCE * 48)
    right2, left2 = eye_template(96)
    # same framing at any size: pixel-centre coordinates scale about the picture's corner (-0.5, -0.5)
    assert np.allclose((right2 + 0.5) / 96, (right + 0.5) / 48)
    assert np.allclose((left2 + 0.5) / 96, (left + 0.5) / 48)


@pytest.mark.parametrize("size", [48, 64, 112])
@pytest.mark.parametrize(
    "right_eye,left_eye",
    [((100, 120), (160, 120)), ((310.5, 220.25), (380.0, 180.0)), ((50, 50), (52, 70)), ((0, 0), (-30, 5))],
)
def test_matrix_puts_eyes_on_template(size, right_eye, left_eye):
    m = alignment_matrix(np.array([right_eye, left_eye, (0, 0)], np.float32), size)
    got = _apply(m, [right_eye, left_eye])
    want = np.stack(eye_template(size))
    assert np.allclose(got, want, atol=1e-6)
    # a similarity: equal scale on both axes, no shear
    a = m[:, :2]
    assert np.allclose(a @ a.T, np.eye(2) * (a[0] @ a[0]), atol=1e-9)
    assert np.linalg.det(a) > 0  # no mirroring


def test_detection_and_array_give_the_same_matrix():
    lm = np.array([[100, 120], [160, 118], [131, 160], [110, 185], [150, 184]], np.float32)
    d = Detection((80, 90, 100, 110), 0.9, lm)
    assert np.allclose(alignment_matrix(d), alignment_matrix(lm))


def test_eyes_end_up_level_at_template():
    size = 96
    right, left = (180.0, 210.0), (265.0, 170.0)  # rolled by about 25 deg
    img = _face_picture(right, left)
    crop = align_face(img, np.array([right, left]), size)
    assert crop.shape == (size, size) and crop.dtype == np.uint8
    eyes = _blob_centres(crop)
    assert len(eyes) == 2, eyes
    assert abs(eyes[0, 1] - eyes[1, 1]) < 0.5  # level
    assert np.allclose(eyes, np.stack(eye_template(size)), atol=0.6)


@pytest.mark.parametrize("angle", [-35.0, -12.0, 7.5, 20.0, 90.0])
def test_known_rotation_is_undone(angle):
    right, left = (210.0, 180.0), (290.0, 180.0)
    upright = _face_picture(right, left)
    centre = (250.0, 210.0)
    m = cv2.getRotationMatrix2D(centre, angle, 1.0)
    rotated = cv2.warpAffine(upright, m, (upright.shape[1], upright.shape[0]), borderValue=40)
    lm_rot = _rotate_points([right, left], centre, angle)

    d = Detection((0, 0, 1, 1), 1.0, np.vstack([lm_rot, np.zeros((3, 2))]).astype(np.float32))
    assert math.isclose(d.roll, angle, abs_tol=1e-3)

    a = align_face(upright, np.array([right, left]), 64).astype(np.float32)
    b = align_face(rotated, d, 64).astype(np.float32)
    assert np.abs(a - b).mean() < 2.0
    assert np.allclose(_blob_centres(b.astype(np.uint8)), np.stack(eye_template(64)), atol=0.6)


def test_channels_and_dtype_are_kept():
    right, left = (100.0, 100.0), (150.0, 100.0)
    grey = _face_picture(right, left, 250, 250)
    lm = np.array([right, left])
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    bgra = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGRA)
    assert align_face(grey, lm).shape == (48, 48)
    assert align_face(grey[:, :, None], lm).shape == (48, 48)
    assert align_face(bgr, lm).shape == (48, 48, 3)
    assert align_face(bgra, lm).shape == (48, 48, 4)
    f = align_face(grey.astype(np.float32) / 255, lm)
    assert f.dtype == np.float32 and f.max() <= 1.0
    assert np.array_equal(align_face(bgr, lm)[:, :, 0], align_face(grey, lm))
    assert [c.shape for c in align_faces(bgr, [lm, lm], 32)] == [(32, 32, 3)] * 2


def test_face_near_border_and_big_downscale():
    # eyes near the corner: the crop repeats border pixels instead of failing
    img = np.full((300, 400, 3), 90, np.uint8)
    crop = align_face(img, np.array([[2.0, 3.0], [30.0, 3.0]]))
    assert crop.shape == (48, 48, 3) and (crop == 90).all()
    # a huge face (eyes 600 px apart) shrunk to 48 px: smoothed, so a fine stripe pattern averages out
    big = np.zeros((2000, 2000), np.uint8)
    big[:, ::2] = 255
    crop = align_face(big, np.array([[700.0, 900.0], [1300.0, 900.0]]))
    assert crop.std() < 20 and abs(float(crop.mean()) - 127.5) < 10


def test_bad_landmarks_raise():
    img = np.zeros((50, 50), np.uint8)
    with pytest.raises(ValueError):
        align_face(img, np.array([[10.0, 10.0]]))
    with pytest.raises(ValueError):
        align_face(img, np.array([[10.0, 10.0], [10.0, 10.0]]))
    with pytest.raises(ValueError):
        align_face(img, np.array([[np.nan, 10.0], [20.0, 10.0]]))
    with pytest.raises(ValueError):
        align_face(np.zeros((0, 5), np.uint8), np.array([[1.0, 1.0], [3.0, 1.0]]))
