"""emoscope.input.video: frames and timestamps from files, cameras and in-memory sources; bad files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import emoscope.input.video as video
from emoscope.errors import InputError
from emoscope.input.video import ArrayCapture, VideoReader, open_camera, open_video
from emoscope.tasks.video.synthetic import write_clip


def _frames(n: int, h: int = 120, w: int = 160) -> list[np.ndarray]:
    out = []
    for i in range(n):
        f = np.full((h, w, 3), 40, np.uint8)
        cv2.putText(f, str(i), (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        out.append(f)
    return out


@pytest.mark.parametrize("ext", [".avi", ".mp4"])
def test_reads_every_frame_with_decoder_timestamps(tmp_path, ext):
    p = write_clip(tmp_path / f"c{ext}", _frames(30), fps=20.0)
    r = open_video(p)
    assert r.fps == 20.0 and r.frame_count == 30 and (r.width, r.height) == (160, 120)
    got = list(r)
    assert [f.index for f in got] == list(range(30))
    assert np.allclose([f.time for f in got], np.arange(30) / 20.0, atol=1e-3)
    assert got[0].image.shape == (120, 160, 3) and got[0].image.dtype == np.uint8
    assert r.problems == [] and not r.truncated and r.timestamps == "decoder"
    with pytest.raises(RuntimeError, match="only once"):
        list(r)


def test_max_frames_stops_early_without_a_truncation_warning(tmp_path):
    p = write_clip(tmp_path / "c.avi", _frames(20))
    r = open_video(p, max_frames=7)
    assert len(list(r)) == 7 and r.problems == []


def test_missing_empty_folder_and_non_video_files_are_refused_by_name(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video")
    (tmp_path / "folder.avi").mkdir()
    cases = {"missing.mp4": "does not exist", "empty.mp4": "empty", "text.mp4": "cannot be opened as a video",
             "folder.avi": "directory"}  # fmt: skip
    for name, problem in cases.items():
        with pytest.raises(InputError, match=problem) as e:
            open_video(tmp_path / name)
        assert name in str(e.value)


def test_file_cut_before_its_first_frame_is_refused(tmp_path):
    data = write_clip(tmp_path / "c.avi", _frames(10)).read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:3000])  # the header, no complete frame
    with pytest.raises(InputError, match="cut.avi"):
        open_video(tmp_path / "cut.avi")


def test_truncated_file_gives_the_frames_before_and_says_so(tmp_path):
    data = write_clip(tmp_path / "c.avi", _frames(40)).read_bytes()
    (tmp_path / "half.avi").write_bytes(data[: len(data) // 2])
    r = open_video(tmp_path / "half.avi")
    n = len(list(r))
    assert 5 < n < 38
    assert r.truncated
    assert "half.avi" in r.problems[0] and f"after {n} of the 40 frames" in r.problems[0]


def test_variable_frame_rate_follows_the_decoder_timestamps():
    times = [0, 33, 50, 120, 121, 400, 433]
    r = open_video(ArrayCapture(_frames(7), times_ms=times, fps=30))
    assert [round(f.time * 1000) for f in r] == times
    assert r.timestamps == "decoder"


def test_missing_or_decreasing_timestamps_fall_back_to_the_frame_rate():
    times = [0, 40, 40, float("nan"), 30, 200]  # a repeat, a NaN, one going back
    r = open_video(ArrayCapture(_frames(6), times_ms=times, fps=25))
    t = [f.time for f in r]
    assert np.allclose(t, [0, 0.04, 0.08, 0.12, 0.16, 0.2])
    assert np.all(np.diff(t) > 0) and r.timestamps == "decoder + frame rate"


def test_corrupt_stream_stops_with_a_problem_but_keeps_the_frames_before():
    cap = ArrayCapture(_frames(10), fail_after=4, fps=25)
    r = open_video(cap, name="broken.mkv")
    assert len(list(r)) == 4
    assert r.truncated and "broken.mkv" in r.problems[0]
    assert cap.released


def test_empty_capture_source_is_refused():
    with pytest.raises(InputError, match="no decodable frame"):
        open_video(ArrayCapture([], fps=25), name="nothing")


def test_camera_uses_the_wall_clock_and_has_no_frame_count(monkeypatch):
    cap = ArrayCapture(_frames(5), fps=30, times_ms=[0, 0, 0, 0, 0])
    monkeypatch.setattr(video, "camera_factory", lambda index: cap)
    r = open_camera(0)
    assert r.live and r.frame_count is None and r.name == "camera 0"
    t = [f.time for f in r]
    assert t[0] == 0 and np.all(np.diff(t) >= 0) and r.timestamps == "clock"
    assert r.problems == []


def test_camera_that_cannot_be_opened(monkeypatch):
    monkeypatch.setattr(video, "camera_factory", lambda index: ArrayCapture([], opened=False))
    with pytest.raises(InputError, match="camera 3"):
        open_camera(3)


def test_grey_frames_are_given_as_bgr():
    grey = [np.full((20, 30), 7, np.uint8)] * 2
    frames = list(VideoReader(ArrayCapture(grey), "g"))
    assert frames[0].image.shape == (20, 30, 3)
