"""A built-in demo input: schematic faces drawn with OpenCV (no photo of a real person ships with emoscope)."""

from __future__ import annotations

import cv2
import numpy as np


def schematic_face(mood: str = "smile", size: int = 192) -> np.ndarray:
    """A grey ``(size, size, 3)`` BGR drawing of a face: ``smile``, ``frown``, ``surprise`` or ``neutral`` mouth."""
    img = np.full((size, size, 3), 70, np.uint8)
    c = size // 2
    s = size / 192
    cv2.ellipse(img, (c, c + int(6 * s)), (int(70 * s), int(88 * s)), 0, 0, 360, (185, 185, 185), -1)
    for dx in (-28, 28):  # eyes and brows
        cv2.ellipse(img, (c + int(dx * s), c - int(18 * s)), (int(11 * s), int(7 * s)), 0, 0, 360, (40, 40, 40), -1)
        lift = -10 if mood == "surprise" else 0
        cv2.line(img, (c + int((dx - 14) * s), c - int((34 - lift) * s)), (c + int((dx + 14) * s), c - int((34 - lift) * s)),
                 (60, 60, 60), max(1, int(4 * s)))  # fmt: skip
    cv2.line(img, (c, c - int(6 * s)), (c - int(6 * s), c + int(20 * s)), (120, 120, 120), max(1, int(3 * s)))
    mouth_y = c + int(44 * s)
    if mood == "smile":
        cv2.ellipse(img, (c, mouth_y - int(12 * s)), (int(30 * s), int(18 * s)), 0, 20, 160, (40, 40, 40), max(1, int(5 * s)))
    elif mood == "frown":
        cv2.ellipse(img, (c, mouth_y + int(12 * s)), (int(28 * s), int(14 * s)), 0, 200, 340, (40, 40, 40), max(1, int(5 * s)))
    elif mood == "surprise":
        cv2.ellipse(img, (c, mouth_y), (int(12 * s), int(18 * s)), 0, 0, 360, (30, 30, 30), -1)
    else:
        cv2.line(img, (c - int(24 * s), mouth_y), (c + int(24 * s), mouth_y), (40, 40, 40), max(1, int(5 * s)))
    return cv2.GaussianBlur(img, (0, 0), 1.2 * s)
