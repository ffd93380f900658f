"""Annotated video: every frame with its faces' boxes, ids, labels and probability bars, written atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from emoscope.outputs.annotate import COLOURS, draw_results
from emoscope.outputs.files import OutputError, temporary_path
from emoscope.outputs.results import ImageResult

#: Codec (FourCC) per file extension: MPEG-4 part 2 in .mp4 / .mov / .m4v, Motion-JPEG in .avi (both are in
#: OpenCV's own FFmpeg build, so no system codec is needed).
CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}


def draw_video_frame(
    image: np.ndarray, faces: Sequence, time: float | None = None, bars: int = 3
) -> np.ndarray:
    """A BGR copy of ``image`` ``(H, W, 3)`` with each face's box, ``#id``, label and top ``bars`` probabilities.

    faces: :class:`emoscope.tasks.video.results.TrackedFace` objects (``face_id`` and ``face``); time: seconds,
    written in the top-left corner when given.
    """
    out = draw_results(image, ImageResult(file=None, faces=[f.face for f in faces]), bars=bars)
    scale = max(0.4, min(out.shape[:2]) / 800)
    for f in faces:
        x, y, w, h = f.face.box
        text = f"#{f.face_id}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, 1)
        col = COLOURS.get(f.face.label, (0, 255, 0))
        x0 = max(0, x + w - tw - 4)
        y0 = max(th + base + 2, y)
        cv2.rectangle(out, (x0, y0 - th - base - 2), (x0 + tw + 4, y0), col, -1)
        cv2.putText(
            out, text, (x0 + 2, y0 - base), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, (0, 0, 0), 1, cv2.LINE_AA
        )
    if time is not None:
        cv2.putText(out, f"{time:8.2f} s", (6, int(18 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                    (255, 255, 255), max(1, int(round(scale))), cv2.LINE_AA)  # fmt: skip
    return out


class AnnotatedVideoWriter:
    """Writes frames to a video file that appears only when :meth:`close` succeeds.

    path: output file; the container and codec follow its extension (:data:`CODECS`: ``.mp4`` -> MPEG-4,
    ``.avi`` -> Motion-JPEG). fps: frame rate of the output (a variable input frame rate is written at this
    constant rate). size: ``(width, height)`` in pixels; frames of another size are resized to it.

    Use as a context manager: leaving the block with an exception (or Ctrl-C) removes the temporary file and leaves
    no output; :meth:`abort` does the same explicitly.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in CODECS:
            raise ValueError(
                f"{self.path}: unsupported video extension {ext!r}; use one of {', '.join(CODECS)}"
            )
        if not (fps > 0):
            raise ValueError(f"{self.path}: frame rate must be positive, got {fps}")
        self.size = (int(size[0]), int(size[1]))
        self.fps = float(fps)
        if self.path.is_dir():
            raise OutputError(self.path, "is a folder, not a video file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(self.path, f"cannot create its folder ({e.strerror or e}: {e.filename})") from e
        self._tmp = temporary_path(self.path)
        self._writer = cv2.VideoWriter(
            str(self._tmp), cv2.VideoWriter_fourcc(*CODECS[ext]), self.fps, self.size
        )
        if not self._writer.isOpened():
            self._writer.release()
            with contextlib.suppress(OSError):
                self._tmp.unlink()
            raise OutputError(
                self.path, f"cannot open a video writer ({CODECS[ext]} at {self.size[0]}x{self.size[1]})"
            )
        self.frames = 0
        self._done = False

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 BGR frame."""
        if self._done:
            raise RuntimeError(f"{self.path}: writer already closed")
        if frame.shape[1] != self.size[0] or frame.shape[0] != self.size[1]:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        self._writer.write(np.ascontiguousarray(frame, np.uint8))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        if self._done:
            return self.path
        self._done = True
        try:
            self._writer.release()
            if self.frames == 0:
                raise OutputError(self.path, "no frame to write")
            if not self._tmp.is_file() or self._tmp.stat().st_size == 0:
                raise OutputError(self.path, "the video encoder wrote nothing")
            try:
                os.replace(self._tmp, self.path)
            except OSError as e:
                raise OutputError(self.path, f"cannot be written ({e.strerror or e})") from e
        except BaseException:
            with contextlib.suppress(OSError):
                self._tmp.unlink()
            raise
        return self.path

    def abort(self) -> None:
        """Stop and remove the temporary file; the output path is left untouched."""
        if not self._done:
            self._done = True
            self._writer.release()
        with contextlib.suppress(OSError):
            self._tmp.unlink()

    def __enter__(self) -> AnnotatedVideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
