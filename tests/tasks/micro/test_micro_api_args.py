"""MicroRecognizer's Python API: image paths are read like emoscope.analyze reads them; other wrong arguments give a
TypeError / ValueError saying what is accepted."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emoscope.errors import EmoscopeError, InputError
from emoscope.tasks.micro.predictor import MicroRecognizer


@pytest.fixture(scope="module")
def rec():
    return MicroRecognizer()


@pytest.fixture
def crops(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (64, 64), np.uint8)
    b = np.roll(a, 1, axis=1)
    cv2.imwrite(str(tmp_path / "a.png"), a)
    cv2.imwrite(str(tmp_path / "b.png"), b)
    return tmp_path / "a.png", tmp_path / "b.png", a, b


def test_analyze_pair_takes_paths(rec, crops):
    pa, pb, a, b = crops
    by_path = rec.analyze_pair(pa, str(pb), aligned=True)
    by_array = rec.analyze_pair(a, b, aligned=True)
    assert by_path.probabilities == pytest.approx(by_array.probabilities, abs=1e-5)


def test_analyze_pair_missing_path_names_it(rec, tmp_path):
    with pytest.raises(InputError, match="nope.png: file does not exist"):
        rec.analyze_pair(tmp_path / "nope.png", tmp_path / "nope2.png", aligned=True)


def test_analyze_frames_takes_a_list_of_paths(rec, crops):
    pa, pb, _, _ = crops
    assert rec.analyze_frames([pa, pb], apex=1, aligned=True).n_frames == 2


@pytest.mark.parametrize("frames, words", [("clipdir", "got the path 'clipdir'"), (None, "got NoneType"),
                                           (3, "got int")])  # fmt: skip
def test_analyze_frames_bad_types(rec, frames, words):
    with pytest.raises(TypeError, match=words):
        rec.analyze_frames(frames)


def test_analyze_frames_generator(rec, crops):
    _, _, a, b = crops
    with pytest.raises(TypeError, match=r"got generator \(make a list of it first\)"):
        rec.analyze_frames(f for f in (a, b))


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.full((64, 64), np.nan, np.float32), "NaN or infinite"),
        (np.full((64, 64), np.inf), "NaN or infinite"),
        (np.zeros((1, 1), np.uint8), "at least 8x8 pixels; got 1x1"),
        (np.zeros((4, 4, 4, 4), np.uint8), "got shape"),
        (np.array("x"), "got shape"),
    ],
)
def test_analyze_pair_aligned_bad_arrays(rec, crops, bad, words):
    _, _, a, _ = crops
    with pytest.raises(ValueError, match=words):
        rec.analyze_pair(a, bad, aligned=True)


@pytest.mark.parametrize("threads", [-1, "a", 100_000])
def test_bad_threads(threads):
    with pytest.raises(EmoscopeError, match="threads"):
        MicroRecognizer(threads=threads)
