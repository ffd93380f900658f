"""What a batch worker does: load the models once, then analyse one input at a time and hand back its rows.

A :class:`Worker` is created once per worker process (local engine) or per Ray actor, never per input. Its
:meth:`Worker.process` never raises for a bad input: an unreadable, corrupt, empty or non-image file, or a video
that cannot be decoded, gives an :class:`Outcome` with ``status == "error"`` and the message. A video that breaks
off half-way keeps the frames before (``status == "ok"``, the reason in ``problems``).
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emoscope.errors import InputError
from emoscope.input.files import not_regular_reason
from emoscope.tasks.batch.rows import image_rows, result_columns, video_rows
from emoscope.tasks.batch.walk import InputItem
from emoscope.tasks.video.analyze import DEFAULT_EVERY, DEFAULT_SMOOTHING

#: The most ONNX Runtime threads per worker that a job accepts (``--threads``).
MAX_THREADS = 256

#: How many times models were loaded in this process (one :class:`Worker` each); reported with every outcome so
#: that a run can show that each worker loaded them once.
_LOADS = 0


@dataclass(frozen=True)
class BatchSettings:
    """What is computed for every input (a resumed job must use the same settings).

    model, head, affect, va_model: the expression model, its label set and the affect readings, as for
        :class:`emoscope.api.Analyzer` (``model=None``: the shipped one).
    threads: ONNX Runtime threads per worker (1: one worker per core is the efficient layout).
    every: videos: run the face detector every N analysed frames, track in between.
    smoothing: videos: time constant of the probability smoothing, seconds (0 = off).
    frame_step: videos: analyse every k-th frame (1 = all; the frame numbers stay the source's).
    max_frames: videos: analyse at most this many frames per video (``None``: all).
    """

    model: str | None = None
    head: str | None = None
    threads: int = 1
    affect: bool | None = None
    va_model: str | None = None
    every: int = DEFAULT_EVERY
    smoothing: float = DEFAULT_SMOOTHING
    frame_step: int = 1
    max_frames: int | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {self.every}")
        if self.frame_step < 1:
            raise ValueError(f"frame_step must be >= 1, got {self.frame_step}")
        if self.smoothing < 0:
            raise ValueError(f"smoothing must be >= 0 seconds, got {self.smoothing}")
        if not 0 <= self.threads <= MAX_THREADS:
            raise ValueError(f"threads must be between 0 and {MAX_THREADS}, got {self.threads}")
        if not math.isfinite(self.smoothing):
            raise ValueError(f"smoothing must be a finite number of seconds, got {self.smoothing}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {self.max_frames}")

    def identity(self) -> dict[str, Any]:
        """The settings that decide the results (``threads`` does not), as stored in the job file."""
        d = asdict(self)
        d.pop("threads")
        for k in ("model", "va_model"):
            if d[k] is not None:
                d[k] = str(Path(d[k]).resolve())
        return d


def build_analyzer(settings: BatchSettings):  # -> emoscope.api.Analyzer
    """The :class:`emoscope.api.Analyzer` of ``settings`` (the face detector is created on first use)."""
    from emoscope.api import Analyzer
    from emoscope.tasks.expression.predictor import ExpressionRecognizer

    rec = ExpressionRecognizer(settings.model, head=settings.head, threads=settings.threads)
    return Analyzer(rec, affect=settings.affect, va_model=settings.va_model)


def columns_for(analyzer) -> dict[str, str]:
    """The result columns an analyzer gives (:func:`emoscope.tasks.batch.rows.result_columns`)."""
    return result_columns(analyzer.recognizer.classes, analyzer.affect_reader is not None)


@dataclass
class Outcome:
    """What became of one input.

    status: ``ok`` or ``error`` (then ``error`` says why and there are no rows); rows: the input's rows (a pandas
    DataFrame with the job's columns) or None; n_rows: their number; seconds, cpu_seconds: analysis time (wall
    clock, and CPU time of the worker process); problems: warnings
    (e.g. a video that broke off: the rows cover the frames before); worker: ``host:pid`` of the worker; loads:
    times that worker's process has loaded the models (1 when loaded once); peak_rss_mb: the worker process's peak
    resident memory so far.
    """

    key: str
    status: str
    rows: Any = None
    n_rows: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    worker: str = ""
    loads: int = 0
    peak_rss_mb: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MB (``None`` where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024 / (1024 if os.uname().sysname == "Darwin" else 1), 1)


class _SteppedCapture:
    """A ``cv2.VideoCapture`` that gives out every ``step``-th frame (the others are only grabbed, not decoded
    into pictures); frame rate and frame count are reported for the frames given out."""

    def __init__(self, capture, step: int):
        self.capture = capture
        self.step = int(step)
        self._started = False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return bool(self.capture.isOpened())

    def read(self):
        if self._started:
            for _ in range(self.step - 1):
                if not self.capture.grab():
                    return False, None
        self._started = True
        return self.capture.read()

    def get(self, prop: int) -> float:
        import cv2

        v = float(self.capture.get(prop))
        if prop == cv2.CAP_PROP_FPS:
            return v / self.step
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(math.ceil(v / self.step)) if v > 0 else v
        return v

    def release(self) -> None:
        self.capture.release()


def open_stepped_video(path: str | os.PathLike, step: int, max_frames: int | None = None):  # -> VideoReader
    """A :class:`emoscope.input.video.VideoReader` over every ``step``-th frame of a video file; raises
    :class:`InputError` like :func:`emoscope.input.video.open_video`."""
    import cv2

    from emoscope.input.video import open_video

    p = Path(path)
    if not p.exists():
        raise InputError(p, "file does not exist")
    if p.is_dir():
        raise InputError(p, "is a directory, not a video file")
    if p.stat().st_size == 0:
        raise InputError(p, "file is empty (0 bytes)")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise InputError(
            p, "cannot be opened as a video (not a video file, an unsupported codec, or a truncated file)"
        )
    return open_video(_SteppedCapture(cap, step), max_frames=max_frames, name=str(p))


class Worker:
    """Holds the models (loaded once, in the constructor) and analyses inputs one at a time."""

    def __init__(self, settings: BatchSettings):
        global _LOADS
        self.settings = settings
        self.analyzer = build_analyzer(settings)
        _ = self.analyzer.detector  # load the detector now, not on the first input
        self.columns = columns_for(self.analyzer)
        _LOADS += 1
        self.loads = _LOADS
        self.id = f"{socket.gethostname()}:{os.getpid()}"

    def process(self, item: InputItem) -> Outcome:
        """Analyse one input: its rows, or the error that stopped it (never raises for a bad input; Ctrl-C still
        interrupts)."""
        t0, c0 = time.perf_counter(), time.process_time()
        out = Outcome(key=item.key, status="ok", worker=self.id, loads=self.loads)
        try:
            if os.path.exists(item.path) and not os.path.isdir(item.path) and not os.path.isfile(item.path):
                raise InputError(item.path, not_regular_reason(item.path))  # a device or a FIFO: never read
            if item.kind == "video":
                out.rows, out.problems = self._video(item)
            else:
                out.rows = image_rows(self.analyzer.analyze(item.path), item.key, self.columns)
            out.n_rows = len(out.rows)
        except InputError as e:
            out.status, out.error = "error", e.problem
        except Exception as e:  # one bad input never stops the job
            out.status, out.error = "error", f"{type(e).__name__}: {e}"
        if out.status != "ok":
            out.rows, out.n_rows = None, 0
        out.seconds = round(time.perf_counter() - t0, 4)
        out.cpu_seconds = round(time.process_time() - c0, 4)
        out.peak_rss_mb = peak_rss_mb()
        return out

    def _video(self, item: InputItem):
        from emoscope.tasks.video.analyze import VideoAnalyzer

        s = self.settings
        source = open_stepped_video(item.path, s.frame_step, s.max_frames) if s.frame_step > 1 else item.path
        res = VideoAnalyzer(self.analyzer, every=s.every, smoothing=s.smoothing).analyze(
            source, max_frames=s.max_frames
        )
        if res.interrupted:  # Ctrl-C inside the video: the partial result must not count as finished
            raise KeyboardInterrupt
        problems = [_unnamed(p, item.path) for p in res.problems]  # the key names the input where shown
        return video_rows(res, item.key, self.columns, s.frame_step), problems


def _unnamed(message: str, path: str | os.PathLike) -> str:
    """``message`` without a leading ``"<path>: "``: the input's key names it already where the message is shown."""
    p = Path(path)
    names = {str(path), str(p), os.path.abspath(p), p.name}
    with contextlib.suppress(OSError, RuntimeError):
        names.add(str(p.resolve()))
    for name in sorted(names, key=len, reverse=True):
        if name and message.startswith(f"{name}: "):
            return message[len(name) + 2 :]
    return message
