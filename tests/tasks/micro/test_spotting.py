"""Spotting on generated clips with inserted movements of known timing, scored with the MEGC metric."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic import micro_clip

from emoscope.cli import main
from emoscope.evaluation.spotting import interval_iou, spotting_scores
from emoscope.tasks.micro.spotting import SpotConfig, fit_threshold, robust_threshold, spot

# two micro-expressions (mouth corner up-and-out over 25 frames, brows up over 21 frames at 100 fps) and a lasting
# macro change of the lower face from frame 170
EVENTS = [(40, 64, (45.0, 98.0), (1.2, -1.2)), (110, 130, (64.0, 40.0), (0.0, -1.5))]
MACRO = (170, 30, (64.0, 95.0), (0.0, 3.0))


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return micro_clip(240, EVENTS, MACRO)


def test_spots_the_micro_expressions_not_the_macro_change(clip: np.ndarray) -> None:
    res = spot(clip, fps=100.0)
    # undefined for the first and last k frames, and one more for the 3-frame running median
    assert res.k == 10 and np.isnan(res.signal[:11]).all() and np.isfinite(res.signal[11:-11]).all()
    found = [(iv.onset, iv.offset) for iv in res.micro]
    truth = [(on, off) for on, off, _, _ in EVENTS]
    s = spotting_scores([found], [truth])
    assert (s["tp"], s["n_pred"], s["n_true"]) == (2, 2, 2), found
    for iv, (on, off, _, _) in zip(res.micro, EVENTS, strict=True):
        assert abs(iv.apex - (on + off) / 2) <= 3  # apex found near the true apex
        assert iv.onset <= iv.apex <= iv.offset
        assert interval_iou((iv.onset, iv.offset), (on, off)) >= 0.5
        assert iv.apex_s == pytest.approx(iv.apex / 100.0)
    # nothing is reported inside the lasting (macro) change
    assert all(iv.apex < 160 for iv in res.intervals)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["intervals"][0]["kind"] == "micro" and d["k"] == 10


def test_quiet_clip_gives_nothing() -> None:
    res = spot(micro_clip(150, [], seed=3), fps=100.0)
    assert res.intervals == []
    assert np.nanmax(res.signal) < res.threshold
    assert res.threshold == pytest.approx(SpotConfig().min_motion)


def test_frame_rate_sets_the_window(clip: np.ndarray) -> None:
    # the same movements "filmed" at 200 fps: k doubles, the spotted frames stay on the movements
    assert spot(clip[:80], fps=200.0).k == 20
    short = spot(clip[:15], fps=100.0)
    assert short.intervals == [] and len(short.signal) == 15
    with pytest.raises(ValueError, match="fps must be positive"):
        spot(clip, fps=0)
    with pytest.raises(ValueError, match=r"\(T, S, S\)"):
        spot(clip[0], fps=100.0)


def test_robust_threshold() -> None:
    cfg = SpotConfig(z=3.0, min_motion=0.0)
    sig = np.array([np.nan, 0.1, 0.1, 0.1, 0.2, 0.0, np.nan])
    assert robust_threshold(sig, cfg) == pytest.approx(0.1 + 3 * 1.4826 * 0.0)
    assert robust_threshold(np.full(4, np.nan), cfg) == float("inf")


def test_fit_threshold_on_labelled_clips(clip: np.ndarray) -> None:
    truth = [(on, off) for on, off, _, _ in EVENTS]
    thr, s = fit_threshold([clip[:160]], [100.0], [truth])
    assert s["f1"] == 1.0 and thr > 0


def test_spot_command(clip: np.ndarray, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(clip[:160]):
        cv2.imwrite(str(folder / f"{i:04d}.png"), f)
    assert main(["spot", str(folder), "--aligned", "--no-classify"]) == 2
    assert "give --fps" in capsys.readouterr().err
    assert main(["spot", str(folder), "--aligned", "--no-classify", "--fps", "100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [iv["kind"] for iv in d["intervals"]] == ["micro", "micro"] and d["n_frames"] == 160
    assert main(["spot", str(folder), "--aligned", "--fps", "100"]) == 0  # with the shipped model's classes
    out = capsys.readouterr().out
    assert "2 interval(s)" in out and "onset-apex-offset" in out


def test_median_smooth_removes_one_frame_glitches() -> None:
    from emoscope.tasks.micro.spotting import median_smooth

    s = np.array([np.nan, 0.0, 0.0, 0.9, 0.0, 0.4, 0.5, 0.45, 0.0, 0.0])
    out = median_smooth(s, 3)
    assert np.isnan(out[:2]).all() and out[3] == 0.0  # the lone spike is gone
    assert out[6] == pytest.approx(0.45)  # a movement over several frames keeps its level
    np.testing.assert_array_equal(median_smooth(s, 1), s)
