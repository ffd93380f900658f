"""Settings of the emoscope HTTP service (one object, built by ``emoscope serve`` or by a test)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Default ceiling on one image upload (bytes).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Default ceiling on one video upload (bytes).
MAX_VIDEO_BYTES = 512 * 1024 * 1024
#: Default ceiling on the pixels of an uploaded image (and of a video frame): 40 megapixels.
MAX_PIXELS = 40_000_000


def default_threads() -> int:
    """Inference threads: one per core, at most 4 (one picture at a time each, one-thread ONNX sessions)."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class ServiceSettings:
    """What the service does and how much it accepts.

    data_dir: the service's data folder: the job database (``jobs.sqlite3``), each video job's folder
        (``jobs/<id>/``: the upload while it is analysed, ``result.json``, ``frames.csv``, ``timeline.png``)
        and partial uploads (``tmp/``). Nothing is written anywhere else.
    max_upload_bytes / max_video_bytes: largest accepted request body of an image (or micro pair) upload / a
        video upload; larger ones are refused with 413 before the body is read when the client says its size
        (``Content-Length``), else as soon as the limit is passed.
    max_pixels: largest accepted image (width x height), checked from the header before decoding; also the
        largest accepted video frame.
    max_video_frames: a video job analyses at most this many frames (``None``: all).
    max_pending: image / micro requests waiting or running at once; more are refused with 503 (``busy``).
    threads: inference threads for images (each holds its own detector + expression model).
    ort_threads: ONNX Runtime intra-op threads per model session (1: the parallelism comes from ``threads``).
    video_workers: video jobs analysed at once (each holds its own detector + model).
    model / head: expression model (default: the shipped one) and head; micro_model: micro-expression model
        (default: the shipped one, when there is one; without one ``/v1/micro`` answers 503).
    keep_uploads: keep a video job's uploaded file after the analysis (default: removed when the job ends).
    cors_origins: origins allowed to call the API from a browser (CORS); empty = CORS off.
    analyzer_factory: builds one :class:`emoscope.api.Analyzer` (tests inject a small one); default: the
        shipped model with ``model`` / ``head`` / ``ort_threads``.
    micro_factory: builds the :class:`~emoscope.tasks.micro.predictor.MicroRecognizer` (or raises
        ``FileNotFoundError`` when there is no model).
    video_fn: the video analysis, ``video_fn(path, analyzer=..., every=..., smoothing=..., progress=...,
        max_frames=...) -> VideoResult``; default :func:`emoscope.tasks.video.analyze.analyze_video`.
    """

    data_dir: Path = field(default_factory=lambda: Path("emoscope-data"))
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_video_bytes: int = MAX_VIDEO_BYTES
    max_pixels: int = MAX_PIXELS
    max_video_frames: int | None = None
    max_pending: int = 512
    threads: int = field(default_factory=default_threads)
    ort_threads: int = 1
    video_workers: int = 1
    model: str | None = None
    head: str | None = None
    micro_model: str | None = None
    keep_uploads: bool = False
    cors_origins: list[str] = field(default_factory=list)
    analyzer_factory: Callable[[], Any] | None = None
    micro_factory: Callable[[], Any] | None = None
    video_fn: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        for name in (
            "max_upload_bytes",
            "max_video_bytes",
            "max_pixels",
            "max_pending",
            "threads",
            "ort_threads",
            "video_workers",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_video_frames is not None and self.max_video_frames < 1:
            raise ValueError(f"max_video_frames must be at least 1 (or None), got {self.max_video_frames}")
