"""``emoscope video`` end to end on clips generated here: outputs, exit statuses, bad input, camera, Ctrl-C."""

from __future__ import annotations

import json

import cv2
import pandas as pd
import pytest

import emoscope.input.video as video_input
from emoscope.cli import main
from emoscope.input.video import ArrayCapture
from emoscope.outputs.demo import schematic_face
from emoscope.tasks.video.analyze import VideoAnalyzer
from emoscope.tasks.video.synthetic import MovingFace, render_clip, write_clip

pytest.importorskip("dlib")

N = 30


@pytest.fixture(scope="module")
def frames():
    faces = [MovingFace(schematic_face("smile"), [(0, 150, 220, 150), (1.2, 300, 230, 150)]),
             MovingFace(schematic_face("surprise"), [(0.4, 480, 240, 130), (1.2, 470, 240, 130)])]  # fmt: skip
    return render_clip(faces, [i / 25 for i in range(N)], seed=2)[0]


@pytest.fixture
def clip(tmp_path, frames):
    return write_clip(tmp_path / "clip.avi", frames, 25.0)


def test_video_writes_csv_plot_annotated_video_and_json(clip, tmp_path, capsys):
    out, csv, png = tmp_path / "o" / "ann.mp4", tmp_path / "o" / "t.csv", tmp_path / "o" / "t.png"
    rc = main(["video", str(clip), "--out", str(out), "--csv", str(csv), "--plot", str(png), "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["file"] == str(clip) and d["complete"] and d["frames_analysed"] == N and len(d["frames"]) == N
    assert [f["face_id"] for f in d["faces"]] == [0, 1] and d["micro_events"] == []
    assert d["outputs"] == [str(out), str(csv), str(png)]
    df = pd.read_csv(csv)
    assert sorted(df["frame"].unique()) == list(range(N))
    assert set(df["face_id"].dropna().astype(int)) == {0, 1}
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == N
    assert png.stat().st_size > 1000
    assert sorted(p.name for p in out.parent.iterdir()) == ["ann.mp4", "t.csv", "t.png"]


def test_text_summary(clip, capsys):
    assert main(["video", str(clip), "--quiet", "--every", "3", "--smooth", "0"]) == 0
    out = capsys.readouterr().out
    assert f"{clip}: {N} frames" in out and "face 0: frames 0-" in out and "face 1:" in out


@pytest.mark.parametrize(
    "args, message",
    [([], "one video file"), (["--every", "0"], "--every"), (["--out", "x.gif"], "--out x.gif")],
)
def test_bad_arguments(clip, capsys, args, message):
    argv = ["video", *([str(clip)] if args else []), *args]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unreadable_inputs_name_the_file(tmp_path, capsys):
    (tmp_path / "zero.mp4").write_bytes(b"")
    (tmp_path / "junk.avi").write_bytes(b"RIFF....AVI junk" * 10)
    for name in ("missing.mp4", "zero.mp4", "junk.avi"):
        assert main(["video", str(tmp_path / name), "--csv", str(tmp_path / "t.csv")]) == 2
        assert name in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


def test_truncated_video_exits_1_with_partial_outputs(clip, tmp_path, capsys):
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    rc = main(["video", str(cut), "--csv", str(tmp_path / "t.csv"), "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "warning" in err and "cut.avi" in err and "truncated" in err
    df = pd.read_csv(tmp_path / "t.csv")
    assert 5 < df["frame"].nunique() < N and df["frame"].max() == df["frame"].nunique() - 1


def test_camera_with_a_fake_capture(frames, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(video_input, "camera_factory", lambda index: ArrayCapture(frames[:12], fps=30))
    rc = main(
        ["video", "--camera", "0", "--csv", str(tmp_path / "cam.csv"), "--out", str(tmp_path / "cam.avi")]
    )
    assert rc == 0
    cap = capsys.readouterr()
    assert "camera 0: 12 frames" in cap.out and "no display" in cap.err
    df = pd.read_csv(tmp_path / "cam.csv")
    assert df["frame"].nunique() == 12 and df["time"].is_monotonic_increasing
    assert cv2.VideoCapture(str(tmp_path / "cam.avi")).get(cv2.CAP_PROP_FRAME_COUNT) == 12


def test_missing_camera(monkeypatch, capsys):
    monkeypatch.setattr(video_input, "camera_factory", lambda index: ArrayCapture([], opened=False))
    assert main(["video", "--camera", "2"]) == 2
    assert "camera 2" in capsys.readouterr().err


def test_ctrl_c_keeps_what_was_analysed_in_complete_files(clip, tmp_path, monkeypatch, capsys):
    step = VideoAnalyzer._step
    calls = {"n": 0}

    def interrupting_step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 18:
            raise KeyboardInterrupt
        return step(self, *a, **k)

    monkeypatch.setattr(VideoAnalyzer, "_step", interrupting_step)
    out, csv = tmp_path / "ann.mp4", tmp_path / "t.csv"
    rc = main(["video", str(clip), "--out", str(out), "--csv", str(csv), "--quiet"])
    assert rc == 130
    assert "interrupted at frame 17" in capsys.readouterr().err
    df = pd.read_csv(csv)
    assert sorted(df["frame"].unique()) == list(range(17))
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == 17
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.mp4", "clip.avi", "t.csv"]
