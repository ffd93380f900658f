"""Video outputs without any model: result tables, smoothing, atomic files, the annotated-video writer, the plot."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pandas as pd
import pytest

from emoscope.outputs.files import atomic_path, write_csv_atomic
from emoscope.outputs.results import FaceResult
from emoscope.outputs.timeline import plot_timeline
from emoscope.outputs.video import AnnotatedVideoWriter, draw_video_frame
from emoscope.tasks.video.results import FrameResult, MicroEvent, TrackedFace, VideoResult
from emoscope.tasks.video.smoothing import ProbabilitySmoother, smooth_series

CLASSES = ("neutral", "happiness", "surprise")


def _face(fid: int, p: list[float], box=(10, 20, 60, 60), detected=True) -> TrackedFace:
    probs = dict(zip(CLASSES, p, strict=True))
    label = max(probs, key=probs.get)
    return TrackedFace(fid, FaceResult(box, label, probs, 0.9), dict(probs), detected)


def _result(n: int = 20) -> VideoResult:
    frames = []
    for i in range(n):
        faces = []
        if 2 <= i < 15:
            faces.append(_face(0, [0.2, 0.7, 0.1], detected=i % 5 == 0))
        if i >= 8:
            faces.append(_face(1, [0.6, 0.1, 0.3], box=(100, 20, 50, 50)))
        frames.append(FrameResult(i, i / 10, faces))
    return VideoResult(
        file="clip.mp4", width=200, height=120, fps=10.0, frame_count=n, frames=frames, classes=CLASSES
    )


# ---------------------------------------------------------------------------------------------------- results


def test_dataframe_has_one_row_per_face_per_frame_and_one_per_empty_frame():
    res = _result()
    df = res.to_dataframe()
    assert len(df) == 2 + 13 + 12  # frames 0-1 and none else empty; face 0 on 13 frames, face 1 on 12
    assert sorted(df["frame"].unique()) == list(range(20))
    assert list(df.columns[:10]) == [
        "time",
        "frame",
        "face_id",
        "x",
        "y",
        "w",
        "h",
        "score",
        "detected",
        "label",
    ]
    assert df.loc[df["frame"] == 0, "face_id"].isna().all()
    f0 = df[df["face_id"] == 0]
    assert (
        f0["detected"].sum() == 2
        and (f0["p_happiness"] == 0.7).all()
        and (f0["raw_label"] == "happiness").all()
    )


def test_summaries_series_and_json():
    res = _result()
    s0, s1 = res.summaries()
    assert (s0.first_frame, s0.last_frame, s0.frames, s0.detected_frames, s0.label) == (
        2,
        14,
        13,
        2,
        "happiness",
    )
    assert (s1.first_frame, s1.last_frame, s1.label) == (8, 19, "neutral")
    frames, times, p = res.series(0)
    assert p.shape == (20, 3) and np.isnan(p[:2]).all() and np.allclose(p[2], [0.2, 0.7, 0.1])
    assert np.allclose(times, np.arange(20) / 10)
    d = json.loads(res.to_json(frames=False))
    assert "frames" not in d and d["frames_analysed"] == 20 and [f["face_id"] for f in d["faces"]] == [0, 1]
    assert d["duration"] == pytest.approx(2.0)


def test_micro_events_in_table_json_and_lookup():
    res = _result()
    res.micro_events = [MicroEvent(1, 10, 11, 13, 1.0, 1.1, 1.3, "surprise", 0.7)]
    assert [e.label for e in res.events_at(1, 12)] == ["surprise"] and res.events_at(0, 12) == []
    df = res.to_dataframe()
    marked = df[df["micro_label"].notna()]
    assert marked["frame"].tolist() == [10, 11, 12, 13] and (marked["face_id"] == 1).all()
    assert (marked["micro_confidence"] == 0.7).all()
    assert json.loads(res.to_json())["micro_events"][0]["offset_time"] == 1.3


def test_empty_result_table():
    res = VideoResult(file="x.mp4", classes=CLASSES)
    df = res.to_dataframe()
    assert len(df) == 0 and {"time", "frame", "face_id"} <= set(df.columns)


# -------------------------------------------------------------------------------------------------- smoothing


def test_smoother_weights_follow_real_time():
    sm = ProbabilitySmoother(tau=0.5)
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert np.allclose(sm.update("f", 0.0, a), a)
    out = sm.update("f", 0.1, b)
    w = 1 - math.exp(-0.1 / 0.5)
    assert np.allclose(out, [1 - w, w]) and out.sum() == pytest.approx(1)
    # after a long gap the old value has faded away
    assert np.allclose(sm.update("f", 10.0, a), a, atol=1e-6)
    # keys are independent; forget restarts
    assert np.allclose(sm.update("g", 10.0, b), b)
    sm.forget("g")
    assert np.allclose(sm.update("g", 10.05, a), a)


def test_no_smoothing_and_bad_time_constant():
    sm = ProbabilitySmoother(0)
    sm.update(0, 0.0, np.array([1.0, 0.0]))
    assert np.allclose(sm.update(0, 0.01, np.array([0.0, 1.0])), [0, 1])
    with pytest.raises(ValueError):
        ProbabilitySmoother(-1)


def test_smooth_series_skips_gaps():
    t = np.arange(6) / 10
    p = np.array([[1, 0], [0, 1], [np.nan, np.nan], [0, 1], [0, 1], [0, 1]], float)
    out = smooth_series(t, p, 0.2)
    assert np.isnan(out[2]).all() and np.all(np.diff(out[[0, 1, 3, 4, 5], 1]) > 0) and out[5, 1] < 1


# ----------------------------------------------------------------------------------------------- atomic files


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_atomic_path_leaves_the_old_file_on_error(tmp_path, exc):
    target = tmp_path / "t.csv"
    target.write_text("old")
    with pytest.raises(exc), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise exc
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_write_csv_atomic_creates_folders(tmp_path):
    p = write_csv_atomic(pd.DataFrame({"a": [1.5, 2.25]}), tmp_path / "x" / "y.csv")
    assert p.read_text().splitlines() == ["a", "1.500000", "2.250000"]
    assert [q.name for q in p.parent.iterdir()] == ["y.csv"]


# ---------------------------------------------------------------------------------------------- video writer


def test_writer_writes_readable_video_and_resizes_odd_frames(tmp_path):
    with AnnotatedVideoWriter(tmp_path / "a.avi", 12.0, (160, 120)) as w:
        for i in range(6):
            w.write(np.full((120, 160, 3), 20 * i, np.uint8))
        w.write(np.zeros((60, 80, 3), np.uint8))
    cap = cv2.VideoCapture(str(tmp_path / "a.avi"))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 7 and cap.get(cv2.CAP_PROP_FPS) == 12.0
    assert [p.name for p in tmp_path.iterdir()] == ["a.avi"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_writer_leaves_nothing_when_interrupted(tmp_path, exc):
    with pytest.raises(exc), AnnotatedVideoWriter(tmp_path / "a.mp4", 25.0, (64, 48)) as w:
        w.write(np.zeros((48, 64, 3), np.uint8))
        raise exc
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_unknown_extensions_and_empty_videos(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        AnnotatedVideoWriter(tmp_path / "a.gif", 25.0, (64, 48))
    w = AnnotatedVideoWriter(tmp_path / "a.mp4", 25.0, (64, 48))
    with pytest.raises(OSError, match="no frame"):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_draw_video_frame_marks_faces():
    img = np.full((120, 200, 3), 100, np.uint8)
    out = draw_video_frame(img, [_face(3, [0.1, 0.8, 0.1])], time=1.5)
    assert out.shape == img.shape and (out != img).any() and (img == 100).all()


# ------------------------------------------------------------------------------------------------------- plot


def test_timeline_plot_with_gaps_and_events(tmp_path):
    res = _result()
    res.micro_events = [MicroEvent(0, 4, 5, 7, 0.4, 0.5, 0.7, "positive", 0.9)]
    p = plot_timeline(res, tmp_path / "plots" / "t.png")
    img = cv2.imread(str(p))
    assert img is not None and img.shape[0] > 300
    assert [q.name for q in p.parent.iterdir()] == ["t.png"]
