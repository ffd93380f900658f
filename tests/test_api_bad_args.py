"""Python API: wrong argument types and values give a TypeError / ValueError saying what is accepted."""

from __future__ import annotations

import numpy as np
import pytest

import emoscope
from emoscope.errors import InputError
from emoscope.tasks.video import analyze_video


@pytest.mark.parametrize("source", [None, 0])
def test_analyze_video_bad_source(source):
    with pytest.raises(TypeError, match="video source must be a file path"):
        analyze_video(source, analyzer=object())


@pytest.mark.parametrize("max_frames", [0, -1])
def test_analyze_video_bad_max_frames(tmp_path, max_frames):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not looked at")
    with pytest.raises(ValueError, match=r"max_frames must be None \(the whole video\) or >= 1") as info:
        analyze_video(video, analyzer=object(), max_frames=max_frames)
    assert not isinstance(info.value, InputError)  # the argument is wrong, not the file


@pytest.mark.parametrize(
    "image, words",
    [
        (np.full((48, 48), np.nan, np.float32), "NaN or infinite"),
        (np.full((48, 48, 3), np.inf), "NaN or infinite"),
        (np.zeros((1, 1), np.uint8), "at least 8x8 pixels; got 1x1"),
    ],
)
def test_analyze_aligned_bad_arrays(image, words):
    with pytest.raises(ValueError, match=words):
        emoscope.analyze_aligned(image)


@pytest.mark.parametrize("recognizer", ["x", 3])
def test_analyze_aligned_bad_recognizer(recognizer):
    with pytest.raises(TypeError, match="recognizer must be an emoscope ExpressionRecognizer"):
        emoscope.analyze_aligned(np.zeros((48, 48), np.uint8), recognizer=recognizer)
