"""Video: expression timelines of tracked faces, smoothing, typed per-frame results (issue P4).

>>> from emoscope.tasks.video import analyze_video
>>> res = analyze_video("clip.mp4", annotated="annotated.mp4")
>>> res.to_dataframe()          # one row per face per frame: time, frame, face_id, box, probabilities, label
>>> res.to_csv("timeline.csv"); res.plot("timeline.png")
"""

from emoscope.tasks.video.analyze import DEFAULT_EVERY, DEFAULT_SMOOTHING, VideoAnalyzer, analyze_video
from emoscope.tasks.video.results import (
    FaceSummary,
    FrameResult,
    MicroEvent,
    TrackCrops,
    TrackedFace,
    VideoResult,
)
from emoscope.tasks.video.smoothing import ProbabilitySmoother, smooth_series

__all__ = [
    "DEFAULT_EVERY",
    "DEFAULT_SMOOTHING",
    "FaceSummary",
    "FrameResult",
    "MicroEvent",
    "ProbabilitySmoother",
    "TrackCrops",
    "TrackedFace",
    "VideoAnalyzer",
    "VideoResult",
    "analyze_video",
    "smooth_series",
]
