"""The MEGC spotting metric on hand-made cases."""

from __future__ import annotations

import pytest

from emoscope.evaluation.spotting import interval_iou, match_intervals, spotting_scores


def test_iou_inclusive_frames() -> None:
    assert interval_iou((10, 19), (10, 19)) == 1.0
    assert interval_iou((10, 19), (15, 24)) == pytest.approx(5 / 15)
    assert interval_iou((0, 4), (5, 9)) == 0.0
    assert interval_iou((0, 0), (0, 0)) == 1.0
    with pytest.raises(ValueError, match="onset <= offset"):
        interval_iou((5, 4), (0, 9))


def test_one_to_one_matching_and_scores() -> None:
    truth = [[(10, 30), (100, 120)], [(50, 60)], []]
    pred = [
        [(12, 30), (14, 32), (200, 210)],  # two spots on one truth: only one counts
        [(52, 70)],  # IoU 9/21 < 0.5: a miss and a false positive
        [(5, 9)],  # clip without truth: a false positive
    ]
    assert match_intervals(pred[0], truth[0]) == [(0, 0)]
    s = spotting_scores(pred, truth)
    assert (s["tp"], s["n_pred"], s["n_true"]) == (1, 5, 3)
    assert s["precision"] == pytest.approx(1 / 5) and s["recall"] == pytest.approx(1 / 3)
    assert s["f1"] == pytest.approx(2 * (1 / 5) * (1 / 3) / (1 / 5 + 1 / 3))
    assert spotting_scores([[]], [[]])["f1"] == 0.0
    with pytest.raises(ValueError, match="clips"):
        spotting_scores([[]], [])
