"""Micro-expression spotting on the tracked faces of a video or a clip (``emoscope video --micro``,
``emoscope spot``).

The video pipeline (:mod:`emoscope.tasks.video`) keeps, for each tracked face, a grey crop per frame cut with the
MEGC2019 composite's framing (:func:`crop_align`). For each face, each run of consecutive frames is registered to
its first crop (:func:`~emoscope.features.micro.stabilise`: per-frame landmark alignment jitters by a pixel or two,
as much as a micro-expression; an affine ECC fit over the whole face removes it), spotted with
:func:`~emoscope.tasks.micro.spotting.spot` at the frame rate of the face's timestamps, and each micro interval is
classified from its onset to its apex crop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emoscope.faces.align import MEGC2019_TEMPLATE, align_face
from emoscope.features.micro import CROP_SIZE
from emoscope.tasks.micro.predictor import MicroRecognizer, spot_frames
from emoscope.tasks.micro.spotting import SpotConfig, SpottedInterval
from emoscope.tasks.video.results import MicroEvent, TrackCrops, VideoResult


def crop_align(grey: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``(CROP_SIZE, CROP_SIZE)`` crop of one face in the MEGC2019 framing (the micro networks' training framing)."""
    return align_face(grey, landmarks, CROP_SIZE, MEGC2019_TEMPLATE)


def _runs(frames: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges of consecutive frame numbers."""
    if len(frames) == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    edges = [0, *breaks.tolist(), len(frames)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def spot_face_crops(
    crops: TrackCrops,
    recognizer: MicroRecognizer | None = None,
    config: SpotConfig | None = None,
    threshold: float | None = None,
    method: str = "tvl1",
) -> list[SpottedInterval]:
    """Spot (and, with a ``recognizer``, classify) the movements of one tracked face. Returns intervals whose
    onset / apex / offset are FRAME NUMBERS of the video and whose times are its timestamps (seconds)."""
    out: list[SpottedInterval] = []
    frames = np.asarray(crops.frames)
    for start, stop in _runs(frames):
        if stop - start < 3:
            continue
        times = np.asarray(crops.times[start:stop], np.float64)
        dt = float(np.median(np.diff(times)))
        if dt <= 0:
            continue
        res = spot_frames(np.asarray(crops.images[start:stop]), 1.0 / dt, recognizer=recognizer, aligned=True,
                          config=config, threshold=threshold, method=method)  # fmt: skip
        for iv in res.intervals:
            i0, i1, i2 = start + iv.onset, start + iv.apex, start + iv.offset
            iv.onset, iv.apex, iv.offset = int(frames[i0]), int(frames[i1]), int(frames[i2])
            iv.onset_s, iv.apex_s, iv.offset_s = (
                float(crops.times[i0]),
                float(crops.times[i1]),
                float(crops.times[i2]),
            )
            out.append(iv)
    return out


def make_video_spotter(
    recognizer: MicroRecognizer | None = None, config: SpotConfig | None = None, method: str = "tvl1"
):
    """A ``spotter(result) -> list[MicroEvent]`` for :meth:`emoscope.tasks.video.analyze.VideoAnalyzer.analyze`
    (which must keep crops made with :func:`crop_align`): the classified micro intervals of every face.
    recognizer: default the shipped micro model."""
    rec = recognizer or MicroRecognizer()

    def spotter(result: VideoResult) -> list[MicroEvent]:
        events: list[MicroEvent] = []
        for fid, tc in sorted(result.crops.items()):
            for iv in spot_face_crops(tc, rec, config, method=method):
                if iv.kind != "micro" or iv.label is None or iv.probabilities is None:
                    continue
                events.append(MicroEvent(
                    face_id=fid, onset_frame=iv.onset, apex_frame=iv.apex, offset_frame=iv.offset,
                    onset_time=iv.onset_s, apex_time=iv.apex_s, offset_time=iv.offset_s, label=iv.label,
                    confidence=float(iv.probabilities[iv.label]),
                ))  # fmt: skip
        return events

    return spotter


def spot_video(
    frames: Sequence[np.ndarray],
    fps: float,
    *,
    recognizer: MicroRecognizer | None = None,
    config: SpotConfig | None = None,
    threshold: float | None = None,
    analyzer=None,
    every: int = 5,
) -> dict[int, list[SpottedInterval]]:
    """Spot movements on every face of a clip (pictures, any head movement): faces are detected and tracked as
    in ``emoscope video`` (stable ids), then :func:`spot_face_crops`. Returns face id -> intervals (frame indices
    of ``frames``)."""
    from emoscope.api import Analyzer
    from emoscope.input.video import ArrayCapture
    from emoscope.tasks.video.analyze import VideoAnalyzer

    an = analyzer or Analyzer(affect=False)
    res = VideoAnalyzer(an, every=every).analyze(ArrayCapture(list(frames), fps=fps), keep_crops=True,
                                                 crop_align=crop_align)  # fmt: skip
    return {fid: spot_face_crops(tc, recognizer, config, threshold) for fid, tc in sorted(res.crops.items())}
