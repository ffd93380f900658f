"""Generated valence / arousal data in AffectNet's CSV layout (learnable, nothing from a research dataset).

A face of valence ``v`` and arousal ``a`` (both in [-1, 1]) is a noisy grey square with a bright horizontal bar as
thick as ``v`` is high and a bright vertical bar as thick as ``a`` is high, each at a random position, so a small
network can learn both from the bars' thickness within a few epochs. Faces sit at a known box in a larger colour
picture; half of the rows give 68 landmarks whose eye points put the eyes where the FER2013 template wants them
(the aligned crop is then the box), half give none (the loader crops the box).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
)
FACE = 64  # face side in the written pictures, pixels
BOX = (10, 6, FACE, FACE)  # (x, y, w, h) of the face in each picture


def va_face(v: float, a: float, rng: np.random.Generator, size: int = FACE) -> np.ndarray:
    """``(size, size)`` uint8 face whose horizontal bar thickness encodes ``v`` and vertical bar thickness ``a``."""
    img = rng.normal(90, 15, (size, size))
    th = int(round(2 + (v + 1) / 2 * size * 0.22))
    tv = int(round(2 + (a + 1) / 2 * size * 0.22))
    r = int(rng.integers(4, size - 4 - th))
    c = int(rng.integers(4, size - 4 - tv))
    img[r : r + th, 4:-4] += 100
    img[4:-4, c : c + tv] += 100
    return np.clip(img + rng.normal(0, 8, (size, size)), 0, 255).astype(np.uint8)


def _landmarks() -> str:
    """68 points (x;y;...) with the eyes at the FER2013 template positions inside :data:`BOX`."""
    from emoscope.faces.align import eye_template

    right, left = eye_template(FACE)
    x0, y0 = BOX[0], BOX[1]
    pts = np.tile([x0 + FACE / 2, y0 + FACE / 2], (68, 1))
    pts[36:42] = [x0 + right[0], y0 + right[1]]
    pts[42:48] = [x0 + left[0], y0 + left[1]]
    return ";".join(f"{v:.2f}" for v in pts.ravel())


def write_affectnet_csv(root: Path, name: str, n: int, seed: int = 0, no_va_rows: int = 0) -> Path:
    """Write ``n`` labelled pictures under ``root/<sub>/`` and ``root/<name>`` (AffectNet CSV with header), plus
    ``no_va_rows`` rows with valence = arousal = -2 (AffectNet's "no label"). Returns the CSV path."""
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    lm = _landmarks()
    for i in range(n + no_va_rows):
        sub = f"{i % 3}"
        (root / sub).mkdir(parents=True, exist_ok=True)
        v, a = (float(x) for x in rng.uniform(-1, 1, 2))
        pic = np.full((BOX[1] + FACE + 10, BOX[0] + FACE + 14, 3), 128, np.uint8)
        pic[BOX[1] : BOX[1] + FACE, BOX[0] : BOX[0] + FACE] = va_face(v, a, rng)[:, :, None]
        fname = f"{sub}/{name.split('.')[0]}_{i:05d}.jpg"
        cv2.imwrite(str(root / fname), pic, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if i >= n:
            v = a = -2.0
        ex = int(rng.integers(0, 8)) if i < n else 10
        lines.append(
            f'{fname},{BOX[0]},{BOX[1]},{BOX[2]},{BOX[3]},"{lm if i % 2 == 0 else ""}",{ex},{v:.4f},{a:.4f}'
        )
    path = root / name
    path.write_text("\n".join(lines) + "\n")
    return path
