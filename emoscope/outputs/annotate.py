"""Annotated copies of images: face boxes, labels and probability bars."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emoscope.outputs.files import OutputError, atomic_path
from emoscope.outputs.results import ImageResult

#: BGR colour per emotion (shared by annotated images and, later, videos and plots).
COLOURS = {
    "anger": (40, 40, 220), "disgust": (40, 140, 40), "fear": (160, 60, 160), "happiness": (0, 200, 255),
    "sadness": (200, 120, 40), "surprise": (0, 140, 255), "neutral": (180, 180, 180), "contempt": (120, 80, 60),
}  # fmt: skip


def draw_results(image: np.ndarray, result: ImageResult, bars: int = 3) -> np.ndarray:
    """A BGR copy of ``image`` with each face's box, label and its top ``bars`` probabilities drawn."""
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = max(0.4, min(out.shape[:2]) / 800)
    th = max(1, int(round(2 * scale)))
    for f in result.faces:
        x, y, w, h = f.box
        col = COLOURS.get(f.label, (0, 255, 0))
        cv2.rectangle(out, (x, y), (x + w, y + h), col, th)
        text = f"{f.label} {f.probabilities[f.label]:.2f}"
        (tw, tht), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, th)
        ty = max(y, tht + base + 2)
        cv2.rectangle(out, (x, ty - tht - base - 2), (x + tw + 4, ty), col, -1)
        cv2.putText(out, text, (x + 2, ty - base), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, (0, 0, 0), th, cv2.LINE_AA)
        top = sorted(f.probabilities.items(), key=lambda kv: -kv[1])[:bars]
        bar_h = max(4, int(8 * scale))
        for i, (name, p) in enumerate(top):
            by = y + h + 3 + i * (bar_h + 2)
            if by + bar_h >= out.shape[0]:
                break
            cv2.rectangle(out, (x, by), (x + int(w * p), by + bar_h), COLOURS.get(name, (0, 255, 0)), -1)
            cv2.putText(out, name[:4], (x + w + 3, by + bar_h), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale,
                        (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return out


def save_image_atomic(image: np.ndarray, path: str | Path) -> Path:
    """Encode and write ``image`` so that ``path`` is either absent or complete (never half-written)."""
    path = Path(path)
    ext = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp") else ".png"
    ok, buf = cv2.imencode(ext, image)
    if not ok:
        raise OutputError(path, "could not encode the annotated image")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())
    return path
