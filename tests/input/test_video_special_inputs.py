"""Video and clip inputs that are not regular files, and bad arguments of the video readers: clear errors, no hang."""

from __future__ import annotations

import os

import numpy as np
import pytest

from emoscope.errors import InputError
from emoscope.input.clips import read_clip
from emoscope.input.video import ArrayCapture, open_camera, open_video


@pytest.fixture(params=["/dev/zero", "fifo"])
def special(request, tmp_path):
    if request.param == "fifo":
        path = tmp_path / "clip.mp4"
        os.mkfifo(path)
        return str(path)
    return request.param


@pytest.mark.parametrize("reader", [open_video, read_clip])
def test_special_files_are_not_videos(special, reader):
    with pytest.raises(InputError, match=r"is a (device|FIFO \(named pipe\)), not a regular file"):
        reader(special)


@pytest.mark.parametrize("source", [None, 0, 1.5, b"x.mp4"])
def test_open_video_bad_source_type(source):
    with pytest.raises(TypeError, match="video source must be a file path"):
        open_video(source)


@pytest.mark.parametrize("max_frames, error", [(0, ValueError), (-1, ValueError), ("3", TypeError)])
def test_open_video_bad_max_frames(max_frames, error):
    cap = ArrayCapture([np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(error, match="max_frames"):
        open_video(cap, max_frames=max_frames)


@pytest.mark.parametrize("index, error", [(-1, ValueError), ("0", TypeError)])
def test_open_camera_bad_index(index, error, monkeypatch):
    import emoscope.input.video as video_input

    def factory(i):  # never reached: OpenCV may crash on a negative index
        raise AssertionError("the camera must not be opened")

    monkeypatch.setattr(video_input, "camera_factory", factory)
    with pytest.raises(error, match="camera index"):
        open_camera(index)
