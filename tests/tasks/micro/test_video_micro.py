"""``emoscope video --micro``: micro-expressions spotted on a tracked face of a generated video, and the
stabilisation that makes it possible (per-frame landmark alignment jitters by about a pixel)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from synthetic import micro_clip

from emoscope.cli import main
from emoscope.evaluation.spotting import spotting_scores
from emoscope.features import stabilise
from emoscope.tasks.micro.spotting import spot
from emoscope.tasks.video.synthetic import write_clip

S = 192
FPS = 50.0
# mouth corner up-and-out over 13 frames and brows up over 13 frames (0.26 s each at 50 fps)
EVENTS = [(40, 52, (S * 45 / 128, S * 98 / 128), (2.0, -2.0)), (90, 102, (S * 64 / 128, S * 40 / 128), (0.0, -2.5))]


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    crops = micro_clip(130, EVENTS, size=S)
    frames = []
    for c in crops:
        img = np.full((360, 480, 3), 110, np.uint8)
        img[80 : 80 + S, 140 : 140 + S] = cv2.cvtColor(c, cv2.COLOR_GRAY2BGR)
        frames.append(img)
    return write_clip(tmp_path_factory.mktemp("v") / "face.avi", frames, fps=FPS)


def test_video_micro_events(video: Path, tmp_path: Path, capsys) -> None:
    csv = tmp_path / "t.csv"
    assert main(["video", str(video), "--micro", "--json", "--quiet", "--csv", str(csv)]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ev = d["micro_events"]
    found = [(e["onset_frame"], e["offset_frame"]) for e in ev]
    s = spotting_scores([found], [[(on, off) for on, off, _, _ in EVENTS]])
    assert (s["tp"], s["n_pred"]) == (2, 2), found
    for e in ev:
        assert e["face_id"] == 0 and e["label"] in ("negative", "positive", "surprise") and 0 < e["confidence"] <= 1
        assert e["onset_time"] == pytest.approx(e["onset_frame"] / FPS, abs=1e-3)
    df = pd.read_csv(csv)
    marked = df[df["micro_label"].notna()]["frame"]
    assert marked.min() == ev[0]["onset_frame"] and marked.max() == ev[1]["offset_frame"]


def test_stabilise_removes_jitter_not_the_movement() -> None:
    clip = micro_clip(60, [(20, 40, (45.0, 98.0), (1.5, -1.5))], noise=1.0)
    rng = np.random.default_rng(0)
    jittered = np.stack([
        cv2.warpAffine(f, cv2.getRotationMatrix2D((64, 64), rng.normal(0, 0.8), 1 + rng.normal(0, 0.01))
                       + np.array([[0, 0, rng.normal(0, 1.0)], [0, 0, rng.normal(0, 1.0)]]), (128, 128),
                       borderMode=cv2.BORDER_REFLECT)
        for f in clip
    ])  # fmt: skip
    truth = [[(20, 40)]]
    raw = spot(jittered, 100.0)
    fixed = spot(stabilise(jittered), 100.0)
    assert len(raw.micro) > 2  # jitter alone looks like many movements
    assert spotting_scores([[(i.onset, i.offset) for i in fixed.micro]], truth)["f1"] == 1.0
    assert stabilise(clip[:3]).dtype == np.uint8
    with pytest.raises(ValueError, match=r"\(T, S, S\)"):
        stabilise(clip[0])


def test_spot_command_tracks_the_face(video: Path, capsys) -> None:
    assert main(["spot", str(video), "--json"]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["faces"] == [0] and d["fps"] == pytest.approx(FPS)
    found = [(iv["onset"], iv["offset"]) for iv in d["intervals"]]
    s = spotting_scores([found], [[(on, off) for on, off, _, _ in EVENTS]])
    assert (s["tp"], s["n_pred"]) == (2, 2), found
    assert all(iv["face_id"] == 0 and iv["label"] in ("negative", "positive", "surprise") for iv in d["intervals"])
