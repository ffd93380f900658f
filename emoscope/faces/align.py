"""Face alignment: a similarity transform that puts the eyes where FER2013 has them.

The crop is rotated so that the eyes are level, scaled so that the inter-ocular distance is a fixed fraction of the
crop, and shifted so that the eyes sit at fixed positions: the framing of the 48x48 FER2013 faces the expression
models were trained on.

Template, measured with ``python benchmarks/fer_eye_template.py`` (default detector, 5-point landmarks, 3000 random
FER2013 training crops, each enlarged 4x and padded by the detector; 2757 detected): in the 48 px crop (pixel-centre
coordinates) the medians were right eye (14.75, 18.62) px, left eye (32.38, 18.50) px, eye midpoint (23.56, 18.69) px
and inter-ocular distance 17.47 px (IQR 15.6-19.0). As fractions of the crop side (``(px + 0.5) / 48``): eye midpoint
x 0.5013, eye height 0.3997, inter-ocular distance 0.3639. The eye line of FER2013 faces is only roughly level:
median roll 0.35 deg, |roll| median 4.6 deg, 90th percentile 16.8 deg. dlib's 68-point eye centres (``--landmarks
68``) give the same template within 0.25 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from emoscope.faces.detect import Detection
from emoscope.faces.preprocess import FACE_SIZE

#: Midpoint of the two eye centres, as fractions of the crop side (x from the left edge, y from the top edge).
EYE_MID_X = 0.5013
EYE_Y = 0.3997
#: Distance between the eye centres, as a fraction of the crop side.
EYE_DISTANCE = 0.3639


@dataclass(frozen=True)
class FaceTemplate:
    """Where the eyes go in a square crop, as fractions of its side.

    eye_mid_x / eye_y: position of the midpoint of the two eye centres (from the left / top edge);
    eye_distance: distance between the eye centres.
    """

    eye_mid_x: float
    eye_y: float
    eye_distance: float


#: The framing of the 48x48 FER2013 faces (the expression models' input).
FER2013_TEMPLATE = FaceTemplate(EYE_MID_X, EYE_Y, EYE_DISTANCE)

#: The framing of the MEGC2019 composite's face crops (``combined_datasets_whole``), from which its flow images were
#: computed. Measured with ``python benchmarks/megc_face_template.py`` (default detector, 441 of its 442 224x224
#: apex crops detected): medians eye midpoint (0.4933, 0.2891), inter-ocular distance 0.5179 (IQR 0.467-0.538) of
#: the side: a tight crop, eyebrows to chin.
MEGC2019_TEMPLATE = FaceTemplate(0.4933, 0.2891, 0.5179)


def eye_template(size: int = FACE_SIZE, template: FaceTemplate = FER2013_TEMPLATE) -> tuple[np.ndarray, np.ndarray]:
    """``(right_eye, left_eye)`` target positions in pixels of a ``size`` x ``size`` crop.

    Positions are pixel centres (pixel ``i`` covers ``[i - 0.5, i + 0.5]``, as in OpenCV), so the framing is the same
    at any ``size``.
    """
    s = float(size)
    half = template.eye_distance * s / 2.0
    cx, cy = template.eye_mid_x * s - 0.5, template.eye_y * s - 0.5
    return np.array([cx - half, cy], np.float64), np.array([cx + half, cy], np.float64)


def _eyes(detection: Detection | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(detection, Detection):
        pts = np.asarray(detection.landmarks, np.float64)
    else:
        pts = np.asarray(detection, np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 2:
        raise ValueError(f"need landmarks of shape (K >= 2, 2) with the right and left eye first, got {pts.shape}")
    if not np.isfinite(pts[:2]).all():
        raise ValueError("eye landmarks are not finite")
    return pts[0], pts[1]


def alignment_matrix(
    detection: Detection | np.ndarray, size: int = FACE_SIZE, template: FaceTemplate = FER2013_TEMPLATE
) -> np.ndarray:
    """The ``(2, 3)`` similarity transform (picture -> crop) that maps the eyes onto :func:`eye_template`.

    ``detection``: a :class:`Detection` or a ``(K, 2)`` landmark array whose first two rows are the subject's right
    eye (left in the picture) and left eye.
    """
    right, left = _eyes(detection)
    t_right, t_left = eye_template(size, template)
    src = left - right
    dst = t_left - t_right
    d_src = math.hypot(*src)
    if d_src < 1e-6:
        raise ValueError("the two eye landmarks coincide")
    scale = math.hypot(*dst) / d_src
    angle = math.atan2(dst[1], dst[0]) - math.atan2(src[1], src[0])
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    mid_src = (right + left) / 2.0
    mid_dst = (t_right + t_left) / 2.0
    return np.hstack([rot, (mid_dst - rot @ mid_src)[:, None]])


def align_face(
    image: np.ndarray,
    detection: Detection | np.ndarray | None = None,
    size: int = FACE_SIZE,
    template: FaceTemplate = FER2013_TEMPLATE,
    *,
    matrix: np.ndarray | None = None,
) -> np.ndarray:
    """Cut out one face, rotated, scaled and shifted to ``template``'s framing (default FER2013's), as a
    ``(size, size[, C])`` crop.

    matrix: use this ``(2, 3)`` picture -> crop transform instead of the one from ``detection`` (e.g. to cut two
    frames of one clip with the same geometry: :func:`alignment_matrix` of the first frame).
    The crop keeps the picture's channels and dtype (grey stays grey, BGR stays BGR; feed it to
    :func:`emoscope.faces.preprocess.prepare_face`). Parts of the crop outside the picture repeat its border pixels.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"image must be a non-empty (H, W) or (H, W, C) array, got shape {a.shape}")
    if matrix is None:
        if detection is None:
            raise ValueError("align_face needs a detection (landmarks) or a matrix")
        matrix = alignment_matrix(detection, size, template)
    m = np.asarray(matrix, np.float64)
    shrink = 1.0 / max(math.hypot(m[0, 0], m[1, 0]), 1e-9)  # picture pixels per crop pixel
    sigma = (shrink - 1.0) / 2.0 if shrink > 1.25 else 0.0  # anti-aliasing before down-scaling
    # work on the part of the picture the crop comes from (plus a margin for the blur and the interpolation)
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
    src_pts = corners @ inv[:, :2].T + inv[:, 2]
    margin = int(math.ceil(3 * sigma)) + 2
    h, w = a.shape[:2]
    x0 = min(max(int(math.floor(src_pts[:, 0].min())) - margin, 0), w - 1)
    y0 = min(max(int(math.floor(src_pts[:, 1].min())) - margin, 0), h - 1)
    x1 = max(min(int(math.ceil(src_pts[:, 0].max())) + margin + 1, w), x0 + 1)
    y1 = max(min(int(math.ceil(src_pts[:, 1].max())) + margin + 1, h), y0 + 1)
    src = np.ascontiguousarray(a[y0:y1, x0:x1])
    if sigma > 0:
        src = cv2.GaussianBlur(src, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    m = m.copy()
    m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)  # same transform, from the sub-picture's coordinates
    return cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def align_faces(image: np.ndarray, detections, size: int = FACE_SIZE) -> list[np.ndarray]:
    """:func:`align_face` for each detection."""
    return [align_face(image, d, size) for d in detections]
