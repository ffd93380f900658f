"""Generated video clips of moving faces with known boxes, for tests and benchmarks (nothing is shipped).

A :class:`MovingFace` is a face picture (e.g. :func:`emoscope.outputs.demo.schematic_face`, or an enlarged FER+
crop) that follows a path of key frames ``(time s, centre x, centre y, side)`` in pixels, linearly interpolated; it
is absent before its first and after its last key frame, and during its ``hidden`` intervals. :func:`render_clip`
pastes the faces (later faces in front) onto a fixed background and returns the frames and the true boxes;
:func:`write_clip` encodes them with OpenCV (``.avi``: Motion-JPEG, ``.mp4``: MPEG-4).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emoscope.faces.scenes import background

Box = tuple[int, int, int, int]


@dataclass
class MovingFace:
    """image: ``(S, S)`` grey or ``(S, S, 3)`` BGR face picture; keys: ``(time, cx, cy, side)`` key frames (time in
    seconds, increasing; positions and side in pixels); hidden: ``(start, end)`` seconds when the face is absent."""

    image: np.ndarray
    keys: Sequence[tuple[float, float, float, float]]
    hidden: Sequence[tuple[float, float]] = field(default_factory=tuple)

    def at(self, t: float) -> tuple[float, float, float] | None:
        """``(cx, cy, side)`` at time ``t`` seconds, or ``None`` when the face is absent."""
        k = np.asarray(self.keys, np.float64)
        if t < k[0, 0] or t > k[-1, 0] or any(a <= t < b for a, b in self.hidden):
            return None
        return tuple(float(np.interp(t, k[:, 0], k[:, j])) for j in (1, 2, 3))  # type: ignore[return-value]


def render_clip(
    faces: Sequence[MovingFace],
    times: Sequence[float],
    *,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
    noise: float = 2.0,
) -> tuple[list[np.ndarray], list[dict[int, Box]]]:
    """Frames at ``times`` (seconds) of ``size`` ``(width, height)``: the faces on a generated background
    (:func:`emoscope.faces.scenes.background`), plus a little per-frame noise.

    Returns ``(frames, truth)``: ``(H, W, 3)`` uint8 BGR frames and, per frame, ``{face index: (x, y, w, h)}`` of the
    faces present (the square each face picture was pasted into, clipped to the frame, whether or not another face
    covers it).
    """
    w, h = size
    rng = np.random.default_rng(seed)
    bg = background(rng, h, w)
    frames, truth = [], []
    for t in times:
        img = bg.copy()
        boxes: dict[int, Box] = {}
        for i, f in enumerate(faces):
            pos = f.at(float(t))
            if pos is None:
                continue
            cx, cy, side = pos
            s = max(2, int(round(side)))
            x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
            face = f.image if f.image.ndim == 3 else cv2.cvtColor(f.image, cv2.COLOR_GRAY2BGR)
            face = cv2.resize(
                face, (s, s), interpolation=cv2.INTER_AREA if s < face.shape[0] else cv2.INTER_CUBIC
            )
            fx0, fy0 = max(0, -x0), max(0, -y0)
            ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
            if ix1 <= ix0 or iy1 <= iy0:
                continue
            img[iy0:iy1, ix0:ix1] = face[fy0 : fy0 + iy1 - iy0, fx0 : fx0 + ix1 - ix0]
            boxes[i] = (ix0, iy0, ix1 - ix0, iy1 - iy0)
        if noise > 0:
            img = np.clip(img.astype(np.float32) + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
        frames.append(img)
        truth.append(boxes)
    return frames, truth


def write_clip(path: str | os.PathLike, frames: Sequence[np.ndarray], fps: float = 25.0) -> Path:
    """Encode ``frames`` (``(H, W, 3)`` uint8 BGR, all one size) to ``path`` at ``fps`` frames/s; the codec follows
    the extension (``.avi``: MJPG, ``.mp4``: mp4v)."""
    from emoscope.outputs.video import CODECS

    p = Path(path)
    codec = CODECS.get(p.suffix.lower())
    if codec is None:
        raise ValueError(f"{p}: use one of {', '.join(CODECS)}")
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*codec), float(fps), (w, h))
    if not wr.isOpened():
        raise OSError(f"{p}: cannot open a video writer ({codec})")
    try:
        for f in frames:
            wr.write(f)
    finally:
        wr.release()
    return p
