"""The result table of a batch job: one row per face per image or video frame, with one fixed set of columns.

Every part of a job (one input each) has exactly the columns and types of :func:`result_columns`, so the parts can
be concatenated, or read together as one Parquet dataset, whatever mix of images and videos they come from:

==================  ========  ==========================================================================
column              type      meaning
==================  ========  ==========================================================================
source              string    the input's key: path relative to the input folder, or as listed
kind                string    ``image`` or ``video``
frame               Int64     frame number in the video (from 0); empty for images
time                float64   seconds from the start of the video; empty for images
face                Int64     face number in the image (0, 1, ...) / stable face id in the video
x, y, w, h          Int64     face box in pixels
score               float64   face detection confidence
detected            boolean   video: the detector found the face on this frame (else it was tracked)
label               string    most probable emotion
p_<emotion>         float64   calibrated probabilities (videos: smoothed over time)
compound ...        ...       affect readings when the analyzer gives them: compound, compound_of, intensity,
                              valence, arousal, va_source (see :class:`emoscope.outputs.results.FaceResult`)
raw_label, raw_p_*  ...       videos: the frame's own label and probabilities before smoothing
==================  ========  ==========================================================================

An image without faces, and a video frame without faces, give one row with empty face columns, as in
:func:`emoscope.outputs.results.results_to_dataframe` and :meth:`emoscope.tasks.video.VideoResult.to_dataframe`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

AFFECT_COLUMNS = {"compound": "string", "compound_of": "string", "intensity": "float64", "valence": "float64",
                  "arousal": "float64", "va_source": "string"}  # fmt: skip


def result_columns(classes: Sequence[str], affect: bool) -> dict[str, str]:
    """Column name -> pandas dtype of a job's results, in order; ``classes``: the emotion names of the model's
    head; ``affect``: the analyzer adds affect readings."""
    cols = {"source": "string", "kind": "string", "frame": "Int64", "time": "float64", "face": "Int64",
            "x": "Int64", "y": "Int64", "w": "Int64", "h": "Int64", "score": "float64", "detected": "boolean",
            "label": "string"}  # fmt: skip
    cols.update({f"p_{c}": "float64" for c in classes})
    if affect:
        cols.update(AFFECT_COLUMNS)
    cols["raw_label"] = "string"
    cols.update({f"raw_p_{c}": "float64" for c in classes})
    return cols


def conform(df, columns: dict[str, str]):  # (pandas.DataFrame, ...) -> pandas.DataFrame
    """``df`` with exactly ``columns``, in their order and types: missing columns are added empty, others are
    dropped; the index is reset."""
    import pandas as pd

    df = df.reset_index(drop=True)
    out = {}
    for name, dtype in columns.items():
        s = df[name] if name in df.columns else pd.Series([None] * len(df), dtype="object")
        if dtype == "string":
            s = s.astype("object").where(s.notna(), None)
        out[name] = s.astype(dtype)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def empty_table(columns: dict[str, str]):  # -> pandas.DataFrame
    """A table with no rows and the job's columns."""
    import pandas as pd

    return conform(pd.DataFrame(), columns)


def image_rows(result, source: str, columns: dict[str, str]):  # (ImageResult, ...) -> pandas.DataFrame
    """The rows of one analysed image (:class:`emoscope.outputs.results.ImageResult`)."""
    from emoscope.outputs.results import results_to_dataframe

    df = results_to_dataframe([result]).drop(columns=["file", "error"], errors="ignore")
    df.insert(0, "source", source)
    df.insert(1, "kind", "image")
    return conform(df, columns)


def video_rows(result, source: str, columns: dict[str, str], frame_step: int = 1):  # -> pandas.DataFrame
    """The rows of one analysed video (:class:`emoscope.tasks.video.VideoResult`); with ``frame_step`` k the
    video was read every k-th frame and the frame numbers are the source's (reader index * k)."""
    df = result.to_dataframe().rename(columns={"face_id": "face"})
    if frame_step != 1 and "frame" in df.columns:
        df["frame"] = df["frame"] * frame_step
    df.insert(0, "source", source)
    df.insert(1, "kind", "video")
    return conform(df, columns)


def _plain(v: Any) -> Any:
    """A cell as a JSON value: missing -> None, numpy scalars -> Python (floats keep every digit)."""
    if v is None:
        return None
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_jsonl(df) -> bytes:
    """The rows of ``df`` as JSON Lines (UTF-8, one object per row, every column, missing values as null)."""
    cols = list(df.columns)
    lines = []
    for row in df.itertuples(index=False, name=None):
        lines.append(json.dumps({c: _plain(v) for c, v in zip(cols, row, strict=True)}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def from_jsonl(data: bytes | str, columns: dict[str, str]):  # -> pandas.DataFrame
    """Parse JSON Lines written by :func:`to_jsonl` into a table with the job's columns and types."""
    import pandas as pd

    text = data.decode("utf-8") if isinstance(data, bytes) else data
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    return conform(pd.DataFrame.from_records(records, columns=list(columns)), columns)
