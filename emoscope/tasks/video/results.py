"""Typed results of a video: per-frame faces with stable ids, raw and smoothed probabilities, micro-expression
events, per-face summaries; convertible to dicts / JSON and to a pandas DataFrame (one row per face per frame).

Every decoded frame is in :attr:`VideoResult.frames`, also the frames without a face (``faces == []``), so the
per-frame table has at least one row per frame.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.outputs.results import FaceResult, ImageResult


@dataclass
class TrackedFace:
    """One face on one frame.

    face_id: stable id of the face through the video (0, 1, 2, ... in order of appearance).
    face: the face's :class:`FaceResult` (box ``(x, y, w, h)`` in pixels, detection score, and any other reading the
        photo pipeline gives) with the *smoothed* probabilities and the label they give.
    raw_probabilities: the probabilities of this frame alone (before smoothing).
    detected: the face detector found the face on this frame (False: followed by the tracker in between).
    """

    face_id: int
    face: FaceResult
    raw_probabilities: dict[str, float]
    detected: bool = True

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.face.box

    @property
    def label(self) -> str:
        return self.face.label

    @property
    def probabilities(self) -> dict[str, float]:
        return self.face.probabilities

    @property
    def raw_label(self) -> str:
        return max(self.raw_probabilities, key=self.raw_probabilities.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"face_id": self.face_id, "detected": bool(self.detected)}
        d.update(self.face.to_dict())
        d["raw_probabilities"] = {k: round(float(v), 6) for k, v in self.raw_probabilities.items()}
        return d


@dataclass
class FrameResult:
    """All faces of one frame: ``index`` (frame number from 0), ``time`` (seconds, the decoder's timestamp)."""

    index: int
    time: float
    faces: list[TrackedFace] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.index, "time": round(self.time, 4), "faces": [f.to_dict() for f in self.faces]}


@dataclass
class MicroEvent:
    """A micro-expression spotted on one face of a video (``analyze_video(..., micro=True)``, ``emoscope video --micro``).

    Frames are frame numbers, times are seconds; ``label`` is the micro-expression class (e.g. ``negative``,
    ``positive``, ``surprise``) and ``confidence`` in ``[0, 1]``.
    """

    face_id: int
    onset_frame: int
    apex_frame: int
    offset_frame: int
    onset_time: float
    apex_time: float
    offset_time: float
    label: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "face_id": self.face_id, "label": self.label, "confidence": round(float(self.confidence), 4),
            "onset_frame": self.onset_frame, "apex_frame": self.apex_frame, "offset_frame": self.offset_frame,
            "onset_time": round(self.onset_time, 4), "apex_time": round(self.apex_time, 4),
            "offset_time": round(self.offset_time, 4),
        }  # fmt: skip


@dataclass
class TrackCrops:
    """The aligned grey crops of one face through the video (kept with ``keep_crops=True``; input of spotting).

    frames: ``(T,)`` int frame numbers; times: ``(T,)`` float seconds; images: ``(T, S, S)`` uint8 grey crops.
    Only frames where the face was seen are present (``frames`` may have gaps).
    """

    face_id: int
    frames: np.ndarray
    times: np.ndarray
    images: np.ndarray


@dataclass
class FaceSummary:
    """One face over the whole video: first / last frame and time, frames seen, frames detected, the mean of the
    smoothed probabilities over the frames seen and its most probable emotion."""

    face_id: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    frames: int
    detected_frames: int
    mean_probabilities: dict[str, float]

    @property
    def label(self) -> str:
        return max(self.mean_probabilities, key=self.mean_probabilities.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        return {
            "face_id": self.face_id, "label": self.label, "first_frame": self.first_frame,
            "last_frame": self.last_frame, "first_time": round(self.first_time, 4),
            "last_time": round(self.last_time, 4), "frames": self.frames, "detected_frames": self.detected_frames,
            "mean_probabilities": {k: round(float(v), 6) for k, v in self.mean_probabilities.items()},
        }  # fmt: skip


@dataclass
class VideoResult:
    """Everything found in one video.

    file: the source (path, ``camera 0``, ...); width / height: frame size in pixels; fps: nominal frame rate of
    the source (frames/s); frame_count: frames the container announced (``None``: unknown).
    frames: one :class:`FrameResult` per decoded frame, in order. classes: the emotion names.
    micro_events: micro-expressions spotted on the tracked faces (empty unless spotting was asked for).
    complete: the whole source was analysed; interrupted: stopped by Ctrl-C (or by a callback raising
    KeyboardInterrupt); problems: what went wrong (truncated file, interruption), each naming the file.
    timestamps: where the times come from (``decoder``, ``frame rate``, ``clock``).
    every: the face detector ran every ``every`` frames; smoothing: time constant of the smoothing (seconds).
    crops: per face id, the aligned crops (``keep_crops=True`` only).
    """

    file: str | None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frame_count: int | None = None
    frames: list[FrameResult] = field(default_factory=list)
    classes: tuple[str, ...] = ()
    micro_events: list[MicroEvent] = field(default_factory=list)
    complete: bool = True
    interrupted: bool = False
    problems: list[str] = field(default_factory=list)
    timestamps: str = "decoder"
    every: int = 1
    smoothing: float = 0.0
    crops: dict[int, TrackCrops] = field(default_factory=dict)

    # ------------------------------------------------------------------------------------------------ queries

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame plus one nominal frame (0 without frames)."""
        if not self.frames:
            return 0.0
        return self.frames[-1].time - self.frames[0].time + 1.0 / (self.fps or 25.0)

    @property
    def face_ids(self) -> list[int]:
        return sorted({f.face_id for fr in self.frames for f in fr.faces})

    def series(self, face_id: int, raw: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The probabilities of one face over time.

        Returns ``(frames (T,), times (T,) seconds, probabilities (T, K))`` over every frame of the video, K =
        ``len(classes)``, with NaN rows where the face is not seen. ``raw``: the per-frame probabilities instead of
        the smoothed ones.
        """
        n, k = len(self.frames), len(self.classes)
        probs = np.full((n, k), np.nan)
        for i, fr in enumerate(self.frames):
            for f in fr.faces:
                if f.face_id == face_id:
                    p = f.raw_probabilities if raw else f.probabilities
                    probs[i] = [p.get(c, np.nan) for c in self.classes]
        frames = np.array([fr.index for fr in self.frames], np.int64)
        times = np.array([fr.time for fr in self.frames], np.float64)
        return frames, times, probs

    def summaries(self) -> list[FaceSummary]:
        """One :class:`FaceSummary` per face id."""
        acc: dict[int, dict[str, Any]] = {}
        for fr in self.frames:
            for f in fr.faces:
                a = acc.setdefault(f.face_id, {"first": fr, "last": fr, "n": 0, "det": 0, "sum": None})
                a["last"] = fr
                a["n"] += 1
                a["det"] += bool(f.detected)
                p = np.array([f.probabilities.get(c, 0.0) for c in self.classes])
                a["sum"] = p if a["sum"] is None else a["sum"] + p
        out = []
        for fid in sorted(acc):
            a = acc[fid]
            mean = a["sum"] / max(a["n"], 1)
            first, last = a["first"], a["last"]
            mean_p = {c: float(v) for c, v in zip(self.classes, mean, strict=True)}
            out.append(
                FaceSummary(fid, first.index, last.index, first.time, last.time, a["n"], a["det"], mean_p)
            )
        return out

    def events_at(self, face_id: int, frame: int) -> list[MicroEvent]:
        """The micro-expression events of ``face_id`` that span ``frame`` (onset <= frame <= offset)."""
        return [
            e for e in self.micro_events if e.face_id == face_id and e.onset_frame <= frame <= e.offset_frame
        ]

    # ------------------------------------------------------------------------------------------- conversions

    def to_dict(self, frames: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: the video's properties, a summary per face, the micro-expression events and (with
        ``frames``) every frame with its faces."""
        d: dict[str, Any] = {
            "file": self.file, "width": self.width, "height": self.height,
            "fps": round(self.fps, 4) if self.fps else self.fps, "frame_count": self.frame_count,
            "frames_analysed": len(self.frames), "duration": round(self.duration, 4), "complete": self.complete,
            "interrupted": self.interrupted, "problems": list(self.problems), "timestamps": self.timestamps,
            "every": self.every, "smoothing": self.smoothing, "classes": list(self.classes),
            "faces": [s.to_dict() for s in self.summaries()],
            "micro_events": [e.to_dict() for e in self.micro_events],
        }  # fmt: skip
        if frames:
            d["frames"] = [fr.to_dict() for fr in self.frames]
        return d

    def to_json(self, frames: bool = True) -> str:
        return json.dumps(self.to_dict(frames))

    def to_dataframe(self):  # -> pandas.DataFrame
        """One row per face per frame, and one row (empty face columns) for each frame without a face.

        Columns: time (s), frame, face_id, x, y, w, h, score, detected, label, p_<emotion>... (smoothed),
        raw_label, raw_p_<emotion>... (this frame alone), any further per-face reading of the photo pipeline's table
        (:func:`emoscope.outputs.results.results_to_dataframe`), and, when there are micro-expression events,
        micro_label and micro_confidence on the frames each event spans.
        """
        import pandas as pd

        images = [ImageResult(file=None, faces=[f.face for f in fr.faces]) for fr in self.frames]
        base = _results_table(images)
        rows: list[dict[str, Any]] = []
        for fr in self.frames:
            if not fr.faces:
                rows.append({"time": fr.time, "frame": fr.index, "face_id": None})
            for f in fr.faces:
                row = {"time": fr.time, "frame": fr.index, "face_id": f.face_id, "detected": bool(f.detected),
                       "raw_label": f.raw_label}  # fmt: skip
                row.update({f"raw_p_{k}": v for k, v in f.raw_probabilities.items()})
                if self.micro_events:
                    ev = max(self.events_at(f.face_id, fr.index), key=lambda e: e.confidence, default=None)
                    row["micro_label"] = ev.label if ev else None
                    row["micro_confidence"] = ev.confidence if ev else None
                rows.append(row)
        extra = pd.DataFrame(rows)
        if len(base) != len(extra):  # the photo table gives one row per face, or one per face-less image
            raise RuntimeError(f"per-frame table mismatch: {len(base)} face rows for {len(extra)} frame rows")
        base = base.drop(columns=[c for c in ("file", "face", "error") if c in base.columns]).reset_index(
            drop=True
        )
        if len(extra) == 0:
            extra = pd.DataFrame(columns=["time", "frame", "face_id"])
        df = pd.concat([extra[["time", "frame", "face_id"]], base, extra.drop(columns=["time", "frame", "face_id"])],
                       axis=1)  # fmt: skip
        front = ["time", "frame", "face_id", "x", "y", "w", "h", "score", "detected", "label"]
        cols = [c for c in front if c in df.columns] + [c for c in df.columns if c not in front]
        df = df[cols]
        for c in ("frame", "face_id", "x", "y", "w", "h"):
            if c in df.columns:
                df[c] = df[c].astype("Int64")
        if "detected" in df.columns:
            df["detected"] = df["detected"].astype("boolean")
        return df

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`to_dataframe` to a CSV file, atomically (``path`` is complete or absent, never
        half-written)."""
        from emoscope.outputs.files import write_csv_atomic

        return write_csv_atomic(self.to_dataframe(), path)

    def plot(self, path: str | Path, **kwargs) -> Path:
        """Save the timeline plot (:func:`emoscope.outputs.timeline.plot_timeline`) to a PNG, atomically."""
        from emoscope.outputs.timeline import plot_timeline

        return plot_timeline(self, path, **kwargs)


def _results_table(images: Iterable[ImageResult]):
    from emoscope.outputs.results import results_to_dataframe

    return results_to_dataframe(images)
