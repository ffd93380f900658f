"""Video input: frames with their timestamps, from a file, a camera or frames held in memory.

:class:`VideoReader` wraps anything that behaves like ``cv2.VideoCapture`` (``read()``, ``get(prop)``,
``isOpened()``, ``release()``) and yields :class:`VideoFrame` objects: the frame number, the time in seconds and the
``(H, W, 3)`` uint8 BGR picture.

* :func:`open_video` checks the file first (missing, a folder, zero bytes, not decodable) and raises
  :class:`emoscope.errors.InputError` naming the file and the problem.
* Timestamps come from the decoder (``CAP_PROP_POS_MSEC`` after each read, so a variable frame rate is followed);
  where the decoder gives none (or a value that does not increase) the time is the previous one plus ``1 / fps``.
  Live sources (cameras) are stamped with the wall clock.
* A file that ends before the number of frames its container announces (truncated, or a corrupt stream the decoder
  gives up on) is read up to that point; :attr:`VideoReader.problems` says what happened, so the caller keeps the
  partial results and reports the problem.
* :func:`open_camera` opens a webcam (``cv2.VideoCapture(index)``; replace :data:`camera_factory` to feed frames
  from elsewhere, e.g. in tests); :class:`ArrayCapture` is a capture source over frames held in memory.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from emoscope.errors import InputError
from emoscope.input.files import special_kind

#: Frame rate assumed when a source reports none (and gives no timestamps).
DEFAULT_FPS = 25.0


@runtime_checkable
class CaptureLike(Protocol):
    """The part of the ``cv2.VideoCapture`` interface :class:`VideoReader` uses."""

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def get(self, prop: int) -> float: ...

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def release(self) -> None: ...


@dataclass
class VideoFrame:
    """One decoded frame.

    index: frame number in the source, from 0.
    time: presentation time in seconds from the start of the source (camera: since the first frame).
    image: ``(H, W, 3)`` uint8 BGR.
    """

    index: int
    time: float
    image: np.ndarray


class ArrayCapture:
    """A ``cv2.VideoCapture``-like source over frames held in memory (tests, frames decoded elsewhere).

    frames: ``(H, W, 3)`` uint8 BGR pictures (or ``(H, W)`` grey, given out as BGR).
    times_ms: optional presentation time of each frame in milliseconds, returned by ``get(CAP_PROP_POS_MSEC)`` after
        the frame is read (a variable frame rate); default ``index * 1000 / fps``.
    fps: reported frame rate (``0`` = unknown).
    frame_count: reported number of frames (default ``len(frames)``; give more to imitate a truncated file).
    fail_after: ``read()`` fails (returns ``(False, None)``) after this many frames, like a corrupt stream.
    opened: ``isOpened()`` (False imitates a camera that cannot be opened).
    """

    def __init__(
        self,
        frames: Sequence[np.ndarray],
        *,
        times_ms: Sequence[float] | None = None,
        fps: float = DEFAULT_FPS,
        frame_count: int | None = None,
        fail_after: int | None = None,
        opened: bool = True,
    ):
        if times_ms is not None and len(times_ms) != len(frames):
            raise ValueError(f"times_ms has {len(times_ms)} values for {len(frames)} frames")
        self._frames = frames
        self._times = times_ms
        self._fps = float(fps)
        self._count = len(frames) if frame_count is None else int(frame_count)
        self._fail_after = fail_after
        self._opened = opened
        self._pos = 0
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802
        return self._opened and not self.released

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.isOpened() or self._pos >= len(self._frames):
            return False, None
        if self._fail_after is not None and self._pos >= self._fail_after:
            return False, None
        f = np.asarray(self._frames[self._pos])
        self._pos += 1
        if f.ndim == 2:
            f = cv2.cvtColor(f, cv2.COLOR_GRAY2BGR)
        return True, f

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FPS:
            return self._fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(self._count)
        if prop == cv2.CAP_PROP_POS_FRAMES:
            return float(self._pos)
        if prop == cv2.CAP_PROP_POS_MSEC:
            if self._pos == 0:
                return 0.0
            if self._times is not None:
                return float(self._times[self._pos - 1])
            return (self._pos - 1) * 1000.0 / self._fps if self._fps > 0 else 0.0
        if prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            if not len(self._frames):
                return 0.0
            shape = np.asarray(self._frames[0]).shape
            return float(shape[1] if prop == cv2.CAP_PROP_FRAME_WIDTH else shape[0])
        return 0.0

    def release(self) -> None:
        self.released = True


#: Opens camera ``index``; replace it to feed "camera" frames from elsewhere (tests use an :class:`ArrayCapture`).
camera_factory: Callable[[int], CaptureLike] = cv2.VideoCapture


class VideoReader:
    """Frames and timestamps from a capture source, with the problems met on the way.

    capture: an opened ``cv2.VideoCapture`` or anything like it (:class:`CaptureLike`).
    name: how the source is called in messages (the file name, ``"camera 0"``).
    live: a live source (camera): stamped with the wall clock, no frame count, no truncation check.
    max_frames: stop after this many frames (``None``: the whole source).

    Attributes after (or during) iteration: :attr:`frames_read`, :attr:`problems` (human-readable, each naming the
    source), :attr:`truncated`, :attr:`timestamps` (``"decoder"``, ``"frame rate"`` where the decoder gave none,
    ``"clock"`` for live sources).
    """

    def __init__(self, capture: CaptureLike, name: str, *, live: bool = False, max_frames: int | None = None):
        self.capture = capture
        self.name = name
        self.live = live
        self.max_frames = max_frames
        fps = _prop(capture, cv2.CAP_PROP_FPS)
        #: Nominal frame rate reported by the source (frames/s), ``DEFAULT_FPS`` when it reports none.
        self.fps = fps if 0 < fps < 1000 else DEFAULT_FPS
        self.fps_reported = 0 < fps < 1000
        n = _prop(capture, cv2.CAP_PROP_FRAME_COUNT)
        #: Number of frames the container announces (``None``: unknown, e.g. a camera or a stream).
        self.frame_count: int | None = int(n) if n >= 1 and not live else None
        self.width = int(_prop(capture, cv2.CAP_PROP_FRAME_WIDTH)) or None
        self.height = int(_prop(capture, cv2.CAP_PROP_FRAME_HEIGHT)) or None
        self.frames_read = 0
        self.problems: list[str] = []
        self.truncated = False
        self.timestamps = "clock" if live else "decoder"
        self._fallback_times = 0
        self._closed = False
        self._gen: Iterator[VideoFrame] | None = None
        self._first: VideoFrame | None = None
        self._iterating = False

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the capture source (idempotent)."""
        if not self._closed:
            self._closed = True
            self.capture.release()

    def __iter__(self) -> Iterator[VideoFrame]:
        if self._iterating:
            raise RuntimeError(f"{self.name}: a video source can be iterated only once")
        self._iterating = True
        if self._gen is None:
            self._gen = self._decode()
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        yield from self._gen

    def peek(self) -> VideoFrame | None:
        """Decode the first frame now (it is still given out first by the iteration); ``None`` if there is none."""
        if self._first is None and self._gen is None:
            self._gen = self._decode()
            self._first = next(self._gen, None)
        return self._first

    def _decode(self) -> Iterator[VideoFrame]:
        prev_t = -math.inf
        t0: float | None = None
        step = 1.0 / self.fps
        while self.max_frames is None or self.frames_read < self.max_frames:
            ok, img = self.capture.read()
            if not ok or img is None or img.size == 0:
                break
            if self.live:
                now = time.monotonic()
                t0 = now if t0 is None else t0
                t = now - t0
            else:
                t = _prop(self.capture, cv2.CAP_PROP_POS_MSEC) / 1000.0
                if not (t > prev_t and t >= 0):
                    t = 0.0 if prev_t == -math.inf else prev_t + step
                    self._fallback_times += self.frames_read > 0
            img = _to_bgr(img)
            if self.width is None or self.height is None:
                self.height, self.width = img.shape[:2]
            self.frames_read += 1
            prev_t = t
            yield VideoFrame(self.frames_read - 1, t, img)
        self._check_end()
        self.close()  # the source is used up: free the decoder (or the camera) at once

    def _check_end(self) -> None:
        if self._fallback_times:
            self.timestamps = (
                "frame rate" if self._fallback_times >= self.frames_read - 1 else "decoder + frame rate"
            )
        stopped_early = self.max_frames is not None and self.frames_read >= self.max_frames
        if self.live or stopped_early or self.frame_count is None:
            return
        # containers that estimate the count from the duration can be off by a frame or two
        if self.frames_read < self.frame_count - max(2, round(0.01 * self.frame_count)):
            self.truncated = True
            self.problems.append(
                f"{self.name}: decoding stopped after {self.frames_read} of the {self.frame_count} frames the file "
                "announces (truncated or corrupt file); the results cover the frames before that"
            )


def _prop(capture: CaptureLike, prop: int) -> float:
    try:
        v = float(capture.get(prop))
    except (cv2.error, TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def _to_bgr(img: np.ndarray) -> np.ndarray:
    """Decoded frame -> ``(H, W, 3)`` uint8 BGR."""
    a = np.asarray(img)
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1):
        return cv2.cvtColor(a.reshape(a.shape[:2]), cv2.COLOR_GRAY2BGR)
    if a.ndim == 3 and a.shape[2] == 4:
        return cv2.cvtColor(a, cv2.COLOR_BGRA2BGR)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return a


def open_video(
    source: str | os.PathLike | CaptureLike, *, max_frames: int | None = None, name: str | None = None
) -> VideoReader:
    """Open a video file (or wrap a capture source) for reading.

    Raises :class:`InputError` naming the file when it is missing, a folder, empty, or not a video OpenCV can decode
    (a file with no decodable first frame is refused here, before any work is done).
    """
    check_max_frames(max_frames)
    if isinstance(source, CaptureLike) and not isinstance(source, (str, os.PathLike)):
        label = name or type(source).__name__
        if not source.isOpened():
            raise InputError(label, "capture source is not open")
        return _checked(VideoReader(source, label, max_frames=max_frames))
    if not isinstance(source, (str, os.PathLike)):
        hint = " (for a camera use open_camera(index))" if isinstance(source, int) else ""
        raise TypeError(f"video source must be a file path (str or os.PathLike), a cv2.VideoCapture-like source or "
                        f"a VideoReader; got {type(source).__name__}{hint}")  # fmt: skip
    p = Path(source)
    label = name or str(p)
    if not p.exists():
        raise InputError(label, "file does not exist")
    if p.is_dir():
        raise InputError(label, "is a directory, not a video file")
    try:
        mode = p.stat().st_mode
    except OSError as e:
        raise InputError(label, f"cannot be read ({e.strerror or e})") from e
    if special_kind(mode):  # /dev/zero never ends, a FIFO blocks until someone writes to it
        raise InputError(label, f"is {special_kind(mode)}, not a regular file")
    try:
        size = p.stat().st_size
        with open(p, "rb"):
            pass
    except OSError as e:
        raise InputError(label, f"cannot be read ({e.strerror or e})") from e
    if size == 0:
        raise InputError(label, "file is empty (0 bytes)")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        cap = cv2.VideoCapture(str(p))  # any other backend that can
    if not cap.isOpened():
        cap.release()
        raise InputError(
            label, "cannot be opened as a video (not a video file, an unsupported codec, or a truncated file)"
        )
    return _checked(VideoReader(cap, label, max_frames=max_frames))


def check_max_frames(max_frames: object) -> None:
    """A TypeError / ValueError unless ``max_frames`` is None (the whole source) or an integer >= 1."""
    if max_frames is None:
        return
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)):
        raise TypeError(f"max_frames must be None or an integer >= 1; got {type(max_frames).__name__}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be None (the whole video) or >= 1; got {max_frames}")


def open_camera(index: int = 0, *, max_frames: int | None = None) -> VideoReader:
    """Open camera ``index`` (a live source, stamped with the wall clock). Raises :class:`InputError` when there is
    no such camera or it cannot be opened, ValueError for a negative index (OpenCV may crash on those)."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"camera index must be an integer >= 0; got {type(index).__name__}")
    if index < 0:
        raise ValueError(f"camera index must be >= 0; got {index}")
    check_max_frames(max_frames)
    label = f"camera {index}"
    try:
        cap = camera_factory(index)
    except (cv2.error, OSError) as e:
        raise InputError(label, f"cannot be opened ({e})") from e
    if not cap.isOpened():
        cap.release()
        raise InputError(label, "cannot be opened (no camera with this index, or it is in use)")
    return VideoReader(cap, label, live=True, max_frames=max_frames)


def _checked(reader: VideoReader) -> VideoReader:
    """Decode the first frame now, so that a file without any decodable frame is refused before work starts."""
    if reader.max_frames != 0 and reader.peek() is None:
        reader.close()
        raise InputError(reader.name, "contains no decodable frame (corrupt, truncated or not a video)")
    return reader
