"""Typed result of a micro-expression reading (one onset -> apex movement of one face)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class MicroResult:
    """One micro-expression.

    label / probabilities: the class (``negative``, ``positive``, ``surprise``) and its calibrated probabilities.
    onset_frame / apex_frame: indices in the frames given; apex_estimated: True when the apex was chosen as the
    frame of largest motion (then motion_scores holds every frame's score, px). motion: mean onset->apex flow
    magnitude (px on the 128 px face crop, median displacement removed); below about 0.1 px the two frames hardly
    differ and the reading means little. box / face_score: the face in the onset frame (picture pixels), None when
    the frames were given aligned. file: where the frames came from. problems: what went wrong reading them (a
    truncated video read up to the break), each naming the file; empty when nothing did.
    """

    label: str
    probabilities: dict[str, float]
    onset_frame: int
    apex_frame: int
    apex_estimated: bool = False
    motion: float = 0.0
    motion_scores: list[float] | None = None
    box: tuple[int, int, int, int] | None = None
    face_score: float | None = None
    n_frames: int = 2
    method: str = "tvl1"
    file: str | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file": self.file,
            "label": self.label,
            "probabilities": {k: round(float(v), 6) for k, v in self.probabilities.items()},
            "onset_frame": self.onset_frame,
            "apex_frame": self.apex_frame,
            "apex_estimated": self.apex_estimated,
            "motion": round(float(self.motion), 5),
            "n_frames": self.n_frames,
            "flow": self.method,
            "box": list(self.box) if self.box is not None else None,
            "face_score": None if self.face_score is None else round(float(self.face_score), 4),
            "problems": list(self.problems),
        }
        if self.motion_scores is not None:
            d["motion_scores"] = self.motion_scores
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def to_dataframe(self):  # -> pandas.DataFrame
        import pandas as pd

        d = self.to_dict()
        row = {k: v for k, v in d.items() if k not in ("probabilities", "motion_scores", "box", "problems")}
        row.update({f"p_{k}": v for k, v in d["probabilities"].items()})
        return pd.DataFrame([row])
