"""Typed results, convertible to dicts, JSON and pandas DataFrames (one row per face)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaceResult:
    """One face.

    box: ``(x, y, w, h)`` in pixels of the input image.
    label: the most probable emotion (canonical name).
    probabilities: emotion -> calibrated probability (sums to 1).
    score: face detection confidence in [0, 1] (1.0 when the input was given as an aligned face crop).

    Optional affect readings (issue P6, :mod:`emoscope.tasks.affect`; None = not computed, and then absent from
    :meth:`to_dict` and the DataFrame):

    compound: a compound expression of the Du et al. 2014 / RAF-DB taxonomy (``"happily surprised"``) when two
        emotions are both strongly present, else the basic label.
    compound_of: the emotions it is made of: two for a compound, one (the label) otherwise.
    intensity: how expressive the face is, in [0, 1]: 1 - P(neutral) of the emotion distribution.
    valence, arousal: in [-1, 1]; see ``va_source``.
    va_source: ``"derived"`` (the emotion distribution mapped onto the circumplex; not measured) or ``"model"``
        (a valence/arousal regression model).
    """

    box: tuple[int, int, int, int]
    label: str
    probabilities: dict[str, float]
    score: float = 1.0
    compound: str | None = None
    compound_of: tuple[str, ...] | None = None
    intensity: float | None = None
    valence: float | None = None
    arousal: float | None = None
    va_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "box": [int(v) for v in self.box],
            "score": round(float(self.score), 4),
            "label": self.label,
            "probabilities": {k: round(float(v), 6) for k, v in self.probabilities.items()},
        }
        d.update(self.affect_fields())
        return d

    def affect_fields(self, decimals: int | None = 4) -> dict[str, Any]:
        """The affect readings that are set, JSON-ready (floats rounded to ``decimals``, None = as they are);
        ``{}`` when none is."""
        d: dict[str, Any] = {}
        if self.compound is not None:
            d["compound"] = self.compound
        if self.compound_of is not None:
            d["compound_of"] = list(self.compound_of)
        for k in ("intensity", "valence", "arousal"):
            v = getattr(self, k)
            if v is not None:
                d[k] = float(v) if decimals is None else round(float(v), decimals)
        if self.va_source is not None:
            d["va_source"] = self.va_source
        return d


@dataclass
class ImageResult:
    """All faces of one image; ``error`` is set (and ``faces`` empty) when the image could not be analysed."""

    file: str | None
    faces: list[FaceResult] = field(default_factory=list)
    error: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"file": self.file, "faces": [f.to_dict() for f in self.faces]}
        if self.width is not None:
            d["width"], d["height"] = self.width, self.height
        if self.error is not None:
            d["error"] = self.error
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def to_dataframe(self):  # -> pandas.DataFrame
        return results_to_dataframe([self])


def results_to_dataframe(results: Iterable[ImageResult]):  # -> pandas.DataFrame
    """One row per face (an image without faces or with an error gives one row with empty face columns).

    Columns: file, face, x, y, w, h, score, label, p_<emotion>..., error; when the faces carry affect readings
    also compound, compound_of (``"happiness+surprise"``), intensity, valence, arousal, va_source.
    """
    import pandas as pd

    rows = []
    for r in results:
        if not r.faces:
            rows.append({"file": r.file, "face": None, "error": r.error})
        for i, f in enumerate(r.faces):
            x, y, w, h = f.box
            row = {"file": r.file, "face": i, "x": x, "y": y, "w": w, "h": h, "score": f.score, "label": f.label}
            row.update({f"p_{k}": v for k, v in f.probabilities.items()})
            affect = f.affect_fields(decimals=None)
            if "compound_of" in affect:
                affect["compound_of"] = "+".join(affect["compound_of"])
            row.update(affect)
            row["error"] = r.error
            rows.append(row)
    return pd.DataFrame(rows)
