"""Expression timelines of videos: decode -> detect every N frames -> track in between -> classify every face on
every frame -> smooth -> per-frame results, annotated video, crops for micro-expression spotting.

How a frame is processed (:class:`VideoAnalyzer`):

1. On every ``every``-th frame the face detector runs (dlib HOG, about 70-85 ms on a 640x480 frame) and
   :class:`emoscope.faces.track.FaceTracker` matches its detections to the tracked faces (Hungarian algorithm on the
   IoU with each track's predicted box).
2. Every other tracked face (all of them in between detections, the ones the detector missed on detection frames)
   is *re-fitted*: dlib's 5-point shape model runs inside the box predicted from the face's previous position and
   velocity (about 0.2 ms per face; :meth:`emoscope.faces.detect.DlibFaceDetector.fit_landmarks`). The re-fit is
   accepted when the eye distance and position are plausible and the aligned crop still looks like the face's
   crop at its latest detection (normalised cross-correlation >= ``min_similarity``); otherwise the face is
   considered hidden on this frame and its track coasts at constant velocity. A detection is given back to a
   face that was hidden only if it looks like it (``min_reid_similarity``): better a new id than a swap. Where two faces overlap (IoU > 0.5),
   only the one detected there (or the more similar one) is kept on that frame.
3. Each face seen is aligned to the FER2013 framing and classified (the same :class:`emoscope.api.Analyzer` as for
   photos, so every per-face reading of the photo pipeline is there); the per-frame probabilities are smoothed per
   face with a time-aware exponential moving average (:mod:`emoscope.tasks.video.smoothing`); both are kept.
4. A new track gets its public id when detected twice (false detections that are not detected again are dropped,
   with their frames). Frames are therefore given out (to the annotated video, the callbacks and the result) with a
   delay of at most ``2 * every`` frames, in order, none skipped: every decoded frame is in the result, with or
   without faces.

Interrupting (Ctrl-C) keeps what was analysed: the result is marked ``interrupted`` and the annotated video is
finished with the frames so far; on any other error the annotated video's temporary file is removed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time as _time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emoscope.faces.align import align_face
from emoscope.faces.track import FaceTracker, Track, eye_frame, iou_matrix
from emoscope.input.video import CaptureLike, VideoFrame, VideoReader, check_max_frames, open_video
from emoscope.outputs.results import FaceResult
from emoscope.tasks.video.results import FrameResult, MicroEvent, TrackCrops, TrackedFace, VideoResult
from emoscope.tasks.video.smoothing import ProbabilitySmoother

#: Default detector interval (frames): detection every 5th frame keeps a 640x480 video above 25 frames/s on one
#: core of a laptop-class CPU (see benchmarks/bench_video.py); a face that enters is picked up within 5 frames.
DEFAULT_EVERY = 5
#: Default smoothing time constant (seconds).
DEFAULT_SMOOTHING = 0.3
#: Default side (pixels) of the grey crops kept for micro-expression spotting.
DEFAULT_CROP_SIZE = 128

#: ``on_crop(face_id, frame, time, crop)``: one aligned grey crop ``(S, S)`` uint8 of one face on one frame.
CropCallback = Callable[[int, int, float, np.ndarray], None]
#: ``on_frame(frame_result, image)``: a finished frame and its ``(H, W, 3)`` BGR picture (e.g. a live display).
FrameCallback = Callable[[FrameResult, np.ndarray], None]
#: ``spotter(result) -> events``: micro-expression spotting over a finished result (with its crops).
Spotter = Callable[[VideoResult], list[MicroEvent]]


@dataclass
class _Seen:
    track: Track
    raw: FaceResult
    smoothed: FaceResult
    detected: bool
    crop: np.ndarray | None


@dataclass
class _Pending:
    frame: VideoFrame
    seen: list[_Seen]


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of the centres of two aligned ``(S, S)`` crops, in ``[-1, 1]`` (0 if flat)."""
    m = a.shape[0] // 8
    x = a[m:-m, m:-m].astype(np.float32)
    y = b[m:-m, m:-m].astype(np.float32)
    x = x - x.mean()
    y = y - y.mean()
    den = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    return float((x * y).sum()) / den if den > 1e-6 else 0.0


class VideoAnalyzer:
    """Expression timelines of the faces in a video (see the module docstring for the method).

    analyzer: the :class:`emoscope.api.Analyzer` (detector + expression model; default: the shipped ones).
    every: run the face detector every ``every`` frames (1 = every frame); a detector without ``fit_landmarks``
        (no re-fitting between detections) runs on every frame.
    smoothing: time constant of the smoothing in seconds (0 = none).
    min_hits: detections that confirm a new face (1: every detection is a face at once).
    max_age: seconds a face may go undetected before its track ends.
    min_similarity: least normalised cross-correlation between a re-fitted face crop and the crop of its latest
        detection for the re-fit to be accepted (same face, unoccluded: about 0.85-1; partly covered: lower).
    min_reid_similarity: the same, for a detection to be given to a face that was hidden on the previous frame
        (aligned faces of different people: median 0.19, 90th percentile 0.48 on FER+ test faces).
    """

    def __init__(
        self,
        analyzer=None,
        *,
        every: int = DEFAULT_EVERY,
        smoothing: float = DEFAULT_SMOOTHING,
        min_hits: int = 2,
        max_age: float = 3.0,
        min_similarity: float = 0.7,
        min_reid_similarity: float = 0.6,
    ):
        if analyzer is None:
            from emoscope.api import default_analyzer

            analyzer = default_analyzer()
        if int(every) < 1:
            raise ValueError(f"every must be >= 1 frame, got {every}")
        self.analyzer = analyzer
        self.every = int(every)
        self.smoothing = float(smoothing)
        ProbabilitySmoother(self.smoothing)  # validates
        self.min_hits = int(min_hits)
        self.max_age = float(max_age)
        self.min_similarity = float(min_similarity)
        self.min_reid_similarity = float(min_reid_similarity)

    # -------------------------------------------------------------------------------------------------- public

    def analyze(
        self,
        source: str | os.PathLike | CaptureLike | VideoReader,
        *,
        annotated: str | os.PathLike | None = None,
        keep_crops: bool = False,
        crop_size: int = DEFAULT_CROP_SIZE,
        crop_align: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        on_crop: CropCallback | None = None,
        on_frame: FrameCallback | None = None,
        spotter: Spotter | None = None,
        progress: bool | Callable[[int, int | None], None] = False,
        max_frames: int | None = None,
    ) -> VideoResult:
        """Analyse a video file, a capture source (``cv2.VideoCapture``-like) or an opened :class:`VideoReader`.

        annotated: also write an annotated copy (boxes, ids, labels, probability bars) to this ``.mp4`` / ``.avi``
            file (atomically: it appears only when complete).
        keep_crops: keep every face's aligned grey crops in :attr:`VideoResult.crops` (``(T, S, S)`` per face, S =
            ``crop_size``); crop_align: ``crop_align(grey_frame (H, W), landmarks (5, 2)) -> (S, S)`` replaces the
            default alignment (FER2013 framing, via :func:`emoscope.faces.align.align_face`).
        on_crop / on_frame: called for every face crop / every finished frame, in frame order.
        spotter: micro-expression spotting, run on the finished result; its events go to
            :attr:`VideoResult.micro_events` (implies ``keep_crops``).
        progress: True for a progress bar on stderr (frames/s, time left), or a callable ``(frames_done, total)``.
        max_frames: stop after this many frames.

        Raises :class:`emoscope.outputs.files.OutputError` (naming the file) at once when ``annotated`` cannot be
        written, :class:`emoscope.errors.InputError` (naming the file) when the source cannot be read at all; a
        source that breaks off later gives a partial result with ``complete == False`` and the reason in
        ``problems``.
        """
        try:
            check_max_frames(max_frames)
        except (TypeError, ValueError):
            if isinstance(source, VideoReader):
                source.close()
            raise
        if annotated is not None:  # a bad output path is reported before any frame is analysed
            from emoscope.outputs.files import check_output_path

            try:
                check_output_path(annotated, "the annotated video")
            except BaseException:
                if isinstance(source, VideoReader):
                    source.close()
                raise
        reader = source if isinstance(source, VideoReader) else open_video(source, max_frames=max_frames)
        if isinstance(source, VideoReader) and max_frames is not None:
            reader.max_frames = max_frames
        keep_crops = keep_crops or spotter is not None
        want_crops = keep_crops or on_crop is not None
        align = crop_align or (lambda grey, lm: align_face(grey, lm, crop_size))
        detector = self.analyzer.detector
        every = self.every if hasattr(detector, "fit_landmarks") else 1
        rec = self.analyzer.recognizer
        result = VideoResult(
            file=reader.name, fps=reader.fps if reader.fps_reported else None, frame_count=reader.frame_count,
            classes=tuple(rec.classes), every=every, smoothing=self.smoothing,
        )  # fmt: skip
        tracker = FaceTracker(min_hits=self.min_hits, max_age=self.max_age)
        smoother = ProbabilitySmoother(self.smoothing)
        crops: dict[int, tuple[list[int], list[float], list[np.ndarray]]] = {}
        pending: deque[_Pending] = deque()
        writer = None
        bar = _progress(progress, reader)
        last: VideoFrame | None = None

        def finish_frame(p: _Pending) -> None:
            nonlocal writer
            faces = [TrackedFace(s.track.face_id, s.smoothed, s.raw.probabilities, s.detected)
                     for s in p.seen if s.track.confirmed]  # fmt: skip
            fr = FrameResult(p.frame.index, p.frame.time, faces)
            result.frames.append(fr)
            if annotated is not None:
                if writer is None:
                    from emoscope.outputs.video import AnnotatedVideoWriter

                    h, w = p.frame.image.shape[:2]
                    writer = AnnotatedVideoWriter(annotated, reader.fps, (w, h))
                from emoscope.outputs.video import draw_video_frame

                writer.write(draw_video_frame(p.frame.image, faces, p.frame.time))
            if want_crops:
                for s in p.seen:
                    if s.track.confirmed and s.crop is not None:
                        fid = s.track.face_id
                        if keep_crops:
                            fr_l, t_l, c_l = crops.setdefault(fid, ([], [], []))
                            fr_l.append(p.frame.index)
                            t_l.append(p.frame.time)
                            c_l.append(s.crop)
                        if on_crop is not None:
                            on_crop(fid, p.frame.index, p.frame.time, s.crop)
            if on_frame is not None:
                on_frame(fr, p.frame.image)

        def flush(final: bool) -> None:
            undecided = set() if final else {t.key for t in tracker.tracks if not t.confirmed}
            while pending and (final or not any(s.track.key in undecided for s in pending[0].seen)):
                finish_frame(pending.popleft())

        try:
            try:
                for k, frame in enumerate(reader):
                    last = frame
                    seen = self._step(frame, k % every == 0, tracker, smoother, align if want_crops else None)
                    for t in tracker.prune(frame.time, (frame.image.shape[1], frame.image.shape[0])):
                        smoother.forget(t.key)
                    tracker.pop_ended()
                    pending.append(_Pending(frame, seen))
                    flush(final=False)
                    bar(k + 1)
            except KeyboardInterrupt:
                result.interrupted = True
                if not reader.live:
                    result.complete = False
                    at = f"frame {last.index} ({last.time:.2f} s)" if last is not None else "the start"
                    result.problems.append(
                        f"{reader.name}: interrupted at {at}; the results cover the frames before"
                    )
            tracker.finish()
            flush(final=True)
            if reader.truncated:
                result.complete = False
            result.problems.extend(reader.problems)
            result.timestamps = reader.timestamps
            result.width, result.height = reader.width, reader.height
            for fid, (fr_l, t_l, c_l) in crops.items():
                result.crops[fid] = TrackCrops(fid, np.array(fr_l, np.int64), np.array(t_l), np.stack(c_l))
            if spotter is not None:
                result.micro_events = sorted(spotter(result), key=lambda e: (e.onset_frame, e.face_id))
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            reader.close()
            bar(None)
        return result

    # ------------------------------------------------------------------------------------------- one frame

    def _step(self, frame: VideoFrame, detect: bool, tracker: FaceTracker, smoother: ProbabilitySmoother,
              crop_align) -> list[_Seen]:  # fmt: skip
        """Find, follow and classify the faces of one frame; returns what was seen of each face."""
        grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        t = frame.time
        seen: list[tuple[Track, np.ndarray, np.ndarray, bool]] = []  # track, landmarks, 48x48 crop, detected
        to_refit = list(tracker.tracks)
        if detect:
            # the colour frame: a detector that reads colour (retinaface) finds more faces in it; dlib greys it
            dets = self.analyzer.detector.detect(frame.image)
            det_crops = [align_face(grey, d.landmarks) for d in dets]

            def gate(tr: Track, j: int) -> bool:
                # a face that was hidden is taken back only if the detection looks like it
                return (
                    tr.visible
                    or tr.reference is None
                    or (_similarity(det_crops[j], tr.reference) >= self.min_reid_similarity)
                )

            pairs, to_refit = tracker.update(dets, t, gate)
            for tr, d in pairs:
                crop = det_crops[next(j for j, e in enumerate(dets) if e is d)]
                tr.reference = crop
                seen.append((tr, tr.landmarks, crop, True))
        proposals = []
        for tr in to_refit:
            p = self._refit(grey, tr, t)
            if p is None:
                tracker.coast(tr, t)
            else:
                proposals.append((tr, *p))
        # overlapping faces (one passing in front of another): keep the detected one, else the more similar one
        if proposals:
            kept = []
            taken = [tr.box for tr, *_ in seen]
            for tr, lm, crop, _sim in sorted(proposals, key=lambda q: -q[3]):
                box = tr.box_from_landmarks(lm)
                if taken and iou_matrix(box[None], np.array(taken)).max() > 0.5:
                    tracker.coast(tr, t)
                    continue
                taken.append(box)
                kept.append((tr, lm, crop))
            for tr, lm, crop in kept:
                tracker.observe(tr, lm, t)
                seen.append((tr, tr.landmarks, crop, False))
        if not seen:
            return []
        h, w = grey.shape
        boxes = [_clip_box(tr.box, w, h) for tr, *_ in seen]
        raw = self.analyzer._faces([c for _, _, c, _ in seen], boxes, [tr.score for tr, *_ in seen])
        out = []
        classes = list(self.analyzer.recognizer.classes)
        affect = self.analyzer.affect_reader
        for (tr, lm, face_crop, det), face in zip(seen, raw, strict=True):
            p = np.array([face.probabilities[c] for c in classes])
            sm = smoother.update(tr.key, t, p)
            smoothed = dataclasses.replace(
                face,
                label=classes[int(np.argmax(sm))],
                probabilities={c: float(v) for c, v in zip(classes, sm, strict=True)},
            )
            if affect is not None:  # compound / intensity / valence-arousal of the smoothed distribution
                affect.read(sm[None], [face_crop])[0].apply_to(smoothed)
            crop = crop_align(grey, lm) if crop_align is not None else None
            out.append(_Seen(tr, face, smoothed, det, crop))
        return out

    def _refit(self, grey: np.ndarray, tr: Track, t: float) -> tuple[np.ndarray, np.ndarray, float] | None:
        """Landmarks of ``tr``'s face re-fitted in its predicted box, the aligned crop and its similarity to the
        reference crop; ``None`` when the face is not found there."""
        h, w = grey.shape
        box = tr.predicted_box(t)
        x, y, bw, bh = box
        if x + bw <= 0 or y + bh <= 0 or x >= w or y >= h or tr.reference is None:
            return None
        lm = self.analyzer.detector.fit_landmarks(grey, box)
        if not np.isfinite(lm).all():
            return None
        mid, d = eye_frame(lm)
        mid0, d0 = eye_frame(tr.predicted_landmarks(t))
        if not (0.7 * d0 <= d <= 1.4 * d0) or float(np.hypot(*(mid - mid0))) > 0.75 * d0:
            return None
        crop = align_face(grey, lm)
        sim = _similarity(crop, tr.reference)
        if sim < self.min_similarity:
            return None
        return lm, crop, sim


def _clip_box(box: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    """Round a float ``(x, y, w, h)`` box and clip it to a ``w`` x ``h`` picture."""
    x0, y0 = max(0, round(box[0])), max(0, round(box[1]))
    x1, y1 = min(w, round(box[0] + box[2])), min(h, round(box[1] + box[3]))
    return int(x0), int(y0), int(max(1, x1 - x0)), int(max(1, y1 - y0))


def _progress(progress, reader: VideoReader) -> Callable[[int | None], None]:
    """``update(done)`` per frame, ``update(None)`` at the end."""
    if callable(progress):
        return lambda done: progress(done, reader.frame_count) if done is not None else None
    if not progress:
        return lambda done: None
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainProgress(reader)
    bar = tqdm(total=reader.frame_count, unit="frame", desc=Path(reader.name).name[:30], file=sys.stderr,
               dynamic_ncols=True, leave=True, mininterval=0.5)  # fmt: skip

    def update(done: int | None) -> None:
        if done is None:
            bar.close()
        else:
            bar.update(done - bar.n)

    return update


class _PlainProgress:
    """Progress on stderr without tqdm: a line every 2 seconds (frames, frames/s, time left)."""

    def __init__(self, reader: VideoReader):
        self.reader = reader
        self.t0 = _time.perf_counter()
        self.last = self.t0

    def __call__(self, done: int | None) -> None:
        now = _time.perf_counter()
        if done is None or now - self.last < 2.0:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        total = self.reader.frame_count
        left = f", {(total - done) / rate:.0f} s left" if total else ""
        print(f"{self.reader.name}: {done}{'/' + str(total) if total else ''} frames, {rate:.1f} frames/s{left}",
              file=sys.stderr, flush=True)  # fmt: skip


def analyze_video(
    source: str | os.PathLike | CaptureLike | VideoReader,
    *,
    analyzer=None,
    every: int = DEFAULT_EVERY,
    smoothing: float = DEFAULT_SMOOTHING,
    **kwargs,
) -> VideoResult:
    """Expression timeline of every face in a video (file path, ``cv2.VideoCapture``-like source or
    :class:`VideoReader`): see :class:`VideoAnalyzer` and :meth:`VideoAnalyzer.analyze` for the options
    (``annotated=``, ``keep_crops=``, ``on_crop=``, ``on_frame=``, ``spotter=``, ``progress=``, ``max_frames=``)."""
    return VideoAnalyzer(analyzer, every=every, smoothing=smoothing).analyze(source, **kwargs)
