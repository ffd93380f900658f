"""Generated multi-face scenes with known face boxes, for testing and benchmarking face detectors.

:func:`make_scene` pastes face crops (given by the caller, e.g. upscaled FER+ crops; nothing is shipped here) at
random sizes, positions and in-plane rotations onto a colour canvas with gradients, noise and distracting shapes,
and returns the picture and the true boxes. :func:`match_detections` scores detections against those boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass
class Scene:
    """A generated picture and its faces: ``boxes[i]`` is the upright square of side ``sizes[i]`` around face i."""

    image: np.ndarray  # (H, W, 3) uint8 BGR
    boxes: list[Box]
    angles: list[float]  # in-plane rotation of each face, degrees (counter-clockwise in the picture)


def background(rng: np.random.Generator, height: int = 480, width: int = 640, n_shapes: int = 12) -> np.ndarray:
    """Colour gradient + low-frequency noise + random rectangles, ellipses and lines (``(H, W, 3)`` uint8 BGR)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    ang = rng.uniform(0, 2 * np.pi)
    t = (np.cos(ang) * xx / width + np.sin(ang) * yy / height + 1.0) / 2.0
    img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    coarse = rng.normal(0, 25, (height // 40 + 2, width // 40 + 2, 3)).astype(np.float32)
    img += cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(n_shapes):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 150)), y + int(rng.integers(10, 150))), colour, -1)
        elif kind == 1:
            axes = (int(rng.integers(5, 80)), int(rng.integers(5, 80)))
            cv2.ellipse(img, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
        else:
            cv2.line(img, (x, y), (int(rng.integers(0, width)), int(rng.integers(0, height))), colour,
                     int(rng.integers(1, 6)))
    img = img.astype(np.float32) + rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _tint(face_grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey face -> BGR, half the time tinted towards a random skin tone."""
    f = face_grey.astype(np.float32)
    if rng.random() < 0.5:
        return np.repeat(f[..., None], 3, axis=2)
    skin = np.array([rng.uniform(0.55, 0.8), rng.uniform(0.7, 0.9), 1.0], np.float32)  # B, G, R gains
    return f[..., None] * skin[None, None, :] * rng.uniform(0.9, 1.2)


def make_scene(
    faces: Sequence[np.ndarray],
    rng: np.random.Generator,
    *,
    height: int = 480,
    width: int = 640,
    size_range: tuple[int, int] = (64, 200),
    max_angle: float = 20.0,
    max_tries: int = 200,
) -> Scene:
    """Paste ``faces`` (grey or BGR crops, any size) onto a generated background without overlaps.

    Each face is resized to a side drawn log-uniformly from ``size_range``, rotated by an angle uniform in
    ``[-max_angle, max_angle]`` (the corners of the crop are filled with the background) and pasted with a slightly
    feathered edge. A face that finds no free place after ``max_tries`` attempts is dropped.
    """
    img = background(rng, height, width).astype(np.float32)
    occupied = np.zeros((height, width), bool)
    boxes: list[Box] = []
    angles: list[float] = []
    for crop in faces:
        side = int(round(np.exp(rng.uniform(np.log(size_range[0]), np.log(size_range[1])))))
        side = min(side, height - 4, width - 4)
        angle = float(rng.uniform(-max_angle, max_angle)) if max_angle > 0 else 0.0
        # the rotated square needs a canvas of side * (|cos| + |sin|)
        rad = np.deg2rad(angle)
        span = int(np.ceil(side * (abs(np.cos(rad)) + abs(np.sin(rad))))) + 2
        if span >= min(height, width):
            continue
        for _ in range(max_tries):
            x0, y0 = int(rng.integers(0, width - span)), int(rng.integers(0, height - span))
            if not occupied[y0 : y0 + span, x0 : x0 + span].any():
                break
        else:
            continue
        c = np.asarray(crop)
        c = c[..., :3] if c.ndim == 3 else c
        c = cv2.resize(c, (side, side), interpolation=cv2.INTER_CUBIC)
        patch = _tint(c, rng) if c.ndim == 2 else c.astype(np.float32)
        # place the face at the centre of a span x span patch, then rotate about that centre
        off = (span - side) // 2
        big = np.zeros((span, span, 3), np.float32)
        big[off : off + side, off : off + side] = patch
        mask = np.zeros((span, span), np.float32)
        mask[off : off + side, off : off + side] = 1.0
        feather = max(1, side // 40)
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
        mask[: off + 1, :] = mask[:, : off + 1] = 0  # keep the blur inside the square's frame
        m = cv2.getRotationMatrix2D((off + side / 2.0, off + side / 2.0), angle, 1.0)
        big = cv2.warpAffine(big, m, (span, span), flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(mask, m, (span, span), flags=cv2.INTER_LINEAR)[..., None]
        roi = img[y0 : y0 + span, x0 : x0 + span]
        img[y0 : y0 + span, x0 : x0 + span] = roi * (1 - mask) + big * mask
        occupied[max(0, y0 - 4) : y0 + span + 4, max(0, x0 - 4) : x0 + span + 4] = True
        cx, cy = x0 + off + side / 2.0, y0 + off + side / 2.0
        boxes.append((int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side, side))
        angles.append(angle)
    return Scene(np.clip(img, 0, 255).astype(np.uint8), boxes, angles)


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return float(inter / union) if union > 0 else 0.0


def match_detections(truth: Sequence[Box], found: Sequence[Box], iou: float = 0.4) -> tuple[list[int], int]:
    """Greedy one-to-one matching by IoU.

    Returns ``(match, n_false)``: ``match[i]`` is the index in ``found`` matched to ``truth[i]`` (or -1), and
    ``n_false`` the number of detections matched to no true box.
    """
    pairs = sorted(
        ((box_iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True
    )
    match = [-1] * len(truth)
    used: set[int] = set()
    for v, i, j in pairs:
        if v < iou:
            break
        if match[i] < 0 and j not in used:
            match[i] = j
            used.add(j)
    return match, len(found) - len(used)
