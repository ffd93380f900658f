"""Micro-expression spotting on the faces of a video (``emoscope video --micro``).

The video pipeline (:mod:`emoscope.tasks.video`) keeps, for each tracked face, a grey crop per frame cut with the
MEGC2019 composite's framing (:func:`crop_align`). :func:`make_video_spotter` returns the ``spotter`` it calls on
the finished result: for each face, each run of consecutive frames is spotted with
:func:`~emoscope.tasks.micro.spotting.spot` (at the frame rate of the face's timestamps) and each micro interval
is classified from its onset to its apex crop. Crops are aligned frame by frame from re-fitted landmarks, whose
jitter (a pixel or two) is as large as a micro-expression: each run is first registered to its first crop
(:func:`~emoscope.features.micro.stabilise`, an affine ECC fit over the whole face), which removes it.
"""

from __future__ import annotations

import numpy as np

from emoscope.faces.align import MEGC2019_TEMPLATE, align_face
from emoscope.features.micro import CROP_SIZE, micro_input, stabilise
from emoscope.tasks.micro.predictor import MicroRecognizer
from emoscope.tasks.micro.spotting import SpotConfig, spot
from emoscope.tasks.video.results import MicroEvent, VideoResult


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


def make_video_spotter(
    recognizer: MicroRecognizer | None = None, config: SpotConfig | None = None, method: str = "tvl1"
):
    """A ``spotter(result) -> list[MicroEvent]`` for :meth:`emoscope.tasks.video.analyze.VideoAnalyzer.analyze`
    (which must keep crops made with :func:`crop_align`). recognizer: classifies each spotted interval (default:
    the shipped micro model)."""
    rec = recognizer or MicroRecognizer()
    cfg = config or SpotConfig()

    def spotter(result: VideoResult) -> list[MicroEvent]:
        events: list[MicroEvent] = []
        for fid, tc in sorted(result.crops.items()):
            for start, stop in _runs(np.asarray(tc.frames)):
                times = np.asarray(tc.times[start:stop], np.float64)
                if stop - start < 3:
                    continue
                dt = float(np.median(np.diff(times)))
                if dt <= 0:
                    continue
                imgs = stabilise(np.asarray(tc.images[start:stop]))
                res = spot(imgs, 1.0 / dt, cfg)
                for iv in res.micro:
                    if iv.apex == iv.onset:
                        continue
                    p = rec.predict_proba(micro_input(imgs[iv.onset], imgs[iv.apex], method).input)[0]
                    k = int(p.argmax())
                    events.append(MicroEvent(
                        face_id=fid, onset_frame=int(tc.frames[start + iv.onset]),
                        apex_frame=int(tc.frames[start + iv.apex]), offset_frame=int(tc.frames[start + iv.offset]),
                        onset_time=float(times[iv.onset]), apex_time=float(times[iv.apex]),
                        offset_time=float(times[iv.offset]), label=rec.classes[k], confidence=float(p[k]),
                    ))  # fmt: skip
        return events

    return spotter
