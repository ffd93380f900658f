"""emoscope.faces.track: Hungarian matching, track lifecycle, motion prediction (synthetic detections only)."""

from __future__ import annotations

import numpy as np
import pytest

from emoscope.faces.detect import Detection
from emoscope.faces.track import FaceTracker, iou_matrix, match_boxes


def _det(cx: float, cy: float, side: float = 100.0, score: float = 0.99) -> Detection:
    """A detection of a face centred at (cx, cy): box + landmarks placed like the dlib detector's."""
    box = (int(round(cx - side / 2)), int(round(cy - side / 2)), int(side), int(side))
    d = 0.4 * side
    lm = np.array([[cx - d / 2, cy - 0.1 * side], [cx + d / 2, cy - 0.1 * side], [cx, cy + 0.15 * side],
                   [cx - 0.2 * side, cy + 0.3 * side], [cx + 0.2 * side, cy + 0.3 * side]], np.float32)  # fmt: skip
    return Detection(box, score, lm)


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [100, 100, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [50, 50, 1, 1]])
    m = iou_matrix(a, b)
    assert m.shape == (2, 3)
    assert m[0, 0] == pytest.approx(1.0) and m[0, 1] == pytest.approx(50 / 150) and m[1].max() == 0.0
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_hungarian_matching_beats_greedy():
    # greedy would give track 0 its best detection (IoU 0.6) and leave track 1 with nothing
    tracks = np.array([[0, 0, 100, 100], [40, 0, 100, 100]])
    dets = np.array([[30, 0, 100, 100], [-30, 0, 100, 100]])
    iou = iou_matrix(tracks, dets)
    assert iou[0].argmax() == 0 and iou[1].argmax() == 0
    assert sorted(match_boxes(tracks, dets, 0.2)) == [(0, 1), (1, 0)]
    assert match_boxes(tracks, np.array([[500, 500, 10, 10]]), 0.2) == []
    assert match_boxes(np.zeros((0, 4)), dets, 0.2) == []


def test_new_faces_are_confirmed_by_a_second_detection_and_numbered_in_order():
    tr = FaceTracker(min_hits=2)
    pairs, _ = tr.update([_det(100, 100), _det(400, 100)], 0.0)
    assert len(pairs) == 2 and all(not t.confirmed for t, _ in pairs)
    tr.update([_det(402, 100), _det(102, 100)], 0.2)
    ids = {round(t.box[0]): t.face_id for t in tr.tracks}
    assert sorted(ids.values()) == [0, 1]


def test_isolated_false_detection_never_gets_an_id():
    tr = FaceTracker(min_hits=2, tentative_misses=0)
    tr.update([_det(300, 200)], 0.0)
    tr.update([], 0.2)
    gone = tr.prune(0.2)
    assert len(gone) == 1 and not gone[0].confirmed and tr.tracks == []
    tr.finish()
    assert tr.tracks == []


def test_min_hits_one_confirms_at_once_and_finish_confirms_fresh_tracks():
    tr = FaceTracker(min_hits=1)
    ((t, _),), _ = tr.update([_det(100, 100)], 0.0)
    assert t.face_id == 0
    tr2 = FaceTracker(min_hits=2)
    tr2.update([_det(100, 100)], 0.0)
    tr2.finish()
    assert [t.face_id for t in tr2.pop_ended()] == [0]


def test_crossing_faces_keep_their_ids():
    """Two faces cross at the same height; while they overlap only the front one is detected."""
    tr = FaceTracker(min_hits=2)
    who: dict[str, set] = {"a": set(), "b": set()}
    for k in range(60):
        t = k / 25
        xa, xb = 100 + 8 * k, 580 - 8 * k
        dets = {"a": _det(xa, 200), "b": _det(xb, 210)}
        if abs(xa - xb) < 90:
            dets.pop("a")  # hidden behind b
        names = list(dets)
        pairs, missed = tr.update([dets[n] for n in names], t)
        for m in missed:
            tr.coast(m, t)
        tr.prune(t, (640, 480))
        for track, d in pairs:
            if track.confirmed:
                who[names[[dets[n] for n in names].index(d)]].add(track.face_id)
    assert who["a"] == {0} and who["b"] == {1}


def test_track_ends_after_max_age_and_the_face_comes_back_with_a_new_id():
    tr = FaceTracker(min_hits=1, max_age=1.0)
    tr.update([_det(300, 200)], 0.0)
    for k in range(1, 8):
        _, missed = tr.update([], 0.2 * k)
        for m in missed:
            tr.coast(m, 0.2 * k)
        tr.prune(0.2 * k)
    assert tr.tracks == [] and [t.face_id for t in tr.pop_ended()] == [0]
    ((t, _),), _ = tr.update([_det(300, 200)], 2.0)
    assert t.face_id == 1


def test_coasting_track_that_leaves_the_picture_ends():
    tr = FaceTracker(min_hits=1, max_age=10.0)
    for k in range(5):
        tr.update([_det(500 + 20 * k, 200)], k / 10)  # moving right at 200 px/s
    (t,) = tr.tracks
    assert t.velocity[0] == pytest.approx(200, rel=0.05)
    assert t.predicted_box(0.9)[0] == pytest.approx(t.box[0] + 100, abs=1)
    tr.coast(t, 0.5)
    assert tr.prune(0.6, (640, 480)) == []  # centre still inside
    assert tr.prune(1.0, (640, 480)) == [t]  # predicted centre past the right edge


def test_box_from_landmarks_reproduces_the_detector_framing():
    tr = FaceTracker(min_hits=1)
    tr.update([_det(200, 150, side=120)], 0.0)
    (t,) = tr.tracks
    moved = _det(260, 170, side=120)
    assert np.allclose(t.box_from_landmarks(moved.landmarks), moved.box, atol=1.0)
    tr.observe(t, moved.landmarks, 0.1)
    assert t.visible and not t.detected and np.allclose(t.box, moved.box, atol=1.0)


def test_gate_can_refuse_to_give_a_hidden_face_someone_elses_detection():
    tr = FaceTracker(min_hits=1)
    tr.update([_det(300, 200)], 0.0)
    (t,) = tr.tracks
    tr.coast(t, 0.2)
    pairs, missed = tr.update([_det(302, 200)], 0.4, gate=lambda track, j: track.visible)
    assert missed == [t] and pairs[0][0] is not t and pairs[0][0].face_id == 1
    pairs, _ = FaceTracker(min_hits=1).update([_det(300, 200)], 0.0, gate=lambda track, j: False)
    assert len(pairs) == 1  # nothing to refuse for a new track
