"""Face tracking across video frames: stable ids from detections, with motion prediction in between.

:class:`FaceTracker` keeps one :class:`Track` per face. On frames where the face detector runs, detections are
matched to the tracks by the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on the intersection over
union of each detection box with the box the track predicts for that moment (constant velocity of the eye midpoint).
Between detections, the caller re-fits the landmarks inside the predicted box (:meth:`Track.predicted_box`) and
reports them with :meth:`FaceTracker.observe`, or reports that the face was not seen (:meth:`FaceTracker.coast`).

Lifecycle (SORT-like): a new detection opens a *tentative* track; it is *confirmed* (and gets the next public
``face_id``, 0, 1, 2, ...) once it is detected ``min_hits`` times, and dropped if the detector misses it more than
``tentative_misses`` times before that (isolated false detections never get an id). A confirmed track ends when the
detector has not found its face for ``max_age`` seconds or when its predicted box has left the picture; a face that
comes back after that gets a new id.

Boxes are ``(x, y, w, h)`` in pixels; landmarks ``(5, 2)`` in pixels, rows as in
:data:`emoscope.faces.detect.LANDMARK_NAMES`; times in seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from emoscope.faces.detect import Detection


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` ``(N, 4)`` with every box of ``b`` ``(M, 4)`` (``x, y, w, h``)
    -> ``(N, M)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax0, ay0, ax1, ay1 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match_boxes(
    tracks: np.ndarray,
    detections: np.ndarray,
    min_iou: float,
    gate: Callable[[int, int], bool] | None = None,
) -> list[tuple[int, int]]:
    """One-to-one matching maximising the total IoU (Hungarian algorithm); pairs below ``min_iou`` are not matches.

    tracks: ``(N, 4)``, detections: ``(M, 4)`` boxes. gate: ``gate(track_index, detection_index) -> bool``, asked
    for the pairs that overlap enough; a pair it refuses cannot be matched. Returns ``(track_index,
    detection_index)`` pairs.
    """
    if len(tracks) == 0 or len(detections) == 0:
        return []
    from scipy.optimize import linear_sum_assignment

    iou = iou_matrix(tracks, detections)
    if gate is not None:
        for i, j in zip(*np.nonzero(iou >= min_iou), strict=True):
            if not gate(int(i), int(j)):
                iou[i, j] = 0.0
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= min_iou]


def eye_frame(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """``(eye midpoint (2,), inter-ocular distance)`` in pixels of ``(K >= 2, 2)`` landmarks (right eye, left eye
    first)."""
    p = np.asarray(landmarks, np.float64)
    return (p[0] + p[1]) / 2.0, float(np.hypot(*(p[1] - p[0])))


@dataclass(eq=False)
class Track:
    """One face followed through a video.

    key: internal number (every track has one, tentative or not); face_id: public id, set when confirmed.
    box: ``(4,)`` float64 ``x, y, w, h`` at :attr:`time`; landmarks: ``(5, 2)`` float32 there.
    velocity: ``(2,)`` px/s of the eye midpoint (constant-velocity prediction): the least-squares slope of its
        positions over the last ``velocity_window`` seconds (see :class:`FaceTracker`).
    shape: the box relative to the eyes, ``(dx, dy, w, h)`` in inter-ocular distances (``dx, dy``: box centre minus
        eye midpoint), learnt from the detector's boxes, so that re-fitted landmarks give the detector's framing.
    hits: times the detector found the face; misses: detector runs in a row that did not.
    visible: the face was found (detected or re-fitted) on the latest frame.
    reference: optional appearance template (e.g. the aligned grey crop of the latest detection) for the caller's
        checks.
    """

    key: int
    box: np.ndarray
    landmarks: np.ndarray
    time: float
    score: float
    shape: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    face_id: int | None = None
    hits: int = 1
    misses: int = 0
    last_detected: float = 0.0
    visible: bool = True
    detected: bool = True
    reference: np.ndarray | None = None
    history: deque = field(default_factory=lambda: deque(maxlen=64))  # (time, eye midpoint x, y) when seen

    @property
    def confirmed(self) -> bool:
        return self.face_id is not None

    @property
    def eye_distance(self) -> float:
        return eye_frame(self.landmarks)[1]

    def predicted_box(self, time: float) -> np.ndarray:
        """``(4,)`` box expected at ``time`` (seconds): the latest box moved at :attr:`velocity`."""
        b = self.box.copy()
        b[:2] += self.velocity * max(0.0, time - self.time)
        return b

    def predicted_landmarks(self, time: float) -> np.ndarray:
        """``(5, 2)`` landmarks expected at ``time``."""
        return (self.landmarks + (self.velocity * max(0.0, time - self.time))[None]).astype(np.float32)

    def box_from_landmarks(self, landmarks: np.ndarray) -> np.ndarray:
        """The ``(4,)`` box that frames ``landmarks`` like the detector framed this face."""
        mid, d = eye_frame(landmarks)
        dx, dy, w, h = self.shape * d
        return np.array([mid[0] + dx - w / 2.0, mid[1] + dy - h / 2.0, w, h])


def _shape_of(box: Sequence[float], landmarks: np.ndarray) -> np.ndarray:
    mid, d = eye_frame(landmarks)
    d = max(d, 1e-6)
    x, y, w, h = (float(v) for v in box)
    return np.array([(x + w / 2.0 - mid[0]) / d, (y + h / 2.0 - mid[1]) / d, w / d, h / d])


class FaceTracker:
    """Gives faces stable ids across frames (see the module docstring for the rules).

    min_iou: least IoU between a detection and a track's predicted box for them to be matched.
    min_hits: detections that confirm a track (1: every detection is a face at once).
    tentative_misses: detector runs a tentative track may miss before it is dropped.
    max_age: seconds without a detection after which a confirmed track ends.
    velocity_window: seconds of past positions the velocity is fitted to (robust to a few bad positions, e.g.
        re-fits on a partly covered face); after a longer gap the velocity is the mean motion across the gap.
    """

    def __init__(
        self,
        *,
        min_iou: float = 0.2,
        min_hits: int = 2,
        tentative_misses: int = 0,
        max_age: float = 3.0,
        velocity_window: float = 0.6,
    ):
        self.min_iou = float(min_iou)
        self.min_hits = max(1, int(min_hits))
        self.tentative_misses = int(tentative_misses)
        self.max_age = float(max_age)
        self.velocity_window = float(velocity_window)
        #: Live tracks (tentative and confirmed), oldest first.
        self.tracks: list[Track] = []
        #: Tracks that ended (confirmed or not) since the last :meth:`pop_ended`.
        self.ended: list[Track] = []
        self._next_key = 0
        self._next_id = 0

    # ------------------------------------------------------------------------------------------------ detections

    def update(
        self,
        detections: Sequence[Detection],
        time: float,
        gate: Callable[[Track, int], bool] | None = None,
    ) -> tuple[list[tuple[Track, Detection]], list[Track]]:
        """Match the detections of one frame (at ``time`` seconds) to the live tracks.

        gate: ``gate(track, detection_index) -> bool`` may refuse a match the boxes allow (e.g. a face that was
        hidden and whose appearance does not fit the detection: better a new id than another face's id).
        Matched tracks take the detection's box and landmarks; unmatched detections open tentative tracks. Returns
        ``(pairs, unmatched)``: ``(track, detection)`` for every detection, and the live tracks the detector missed
        (the caller may still find those faces by re-fitting, then :meth:`observe` them, or :meth:`coast` them).
        """
        boxes = np.array([t.predicted_box(time) for t in self.tracks]).reshape(-1, 4)
        det_boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4)
        g = None if gate is None else (lambda i, j: gate(self.tracks[i], j))
        pairs_idx = match_boxes(boxes, det_boxes, self.min_iou, g)
        matched_t = {i for i, _ in pairs_idx}
        matched_d = {j for _, j in pairs_idx}
        pairs: list[tuple[Track, Detection]] = []
        for i, j in pairs_idx:
            t, d = self.tracks[i], detections[j]
            t.shape = 0.5 * t.shape + 0.5 * _shape_of(d.box, d.landmarks)
            self._move(t, d.landmarks, time, box=np.asarray(d.box, np.float64))
            t.hits += 1
            t.misses = 0
            t.score = float(d.score)
            t.last_detected = time
            t.detected = True
            if not t.confirmed and t.hits >= self.min_hits:
                self._confirm(t)
            pairs.append((t, d))
        unmatched = []
        for i, t in enumerate(self.tracks):
            if i not in matched_t:
                t.misses += 1
                t.detected = False
                unmatched.append(t)
        for j, d in enumerate(detections):
            if j not in matched_d:
                t = Track(self._next_key, np.asarray(d.box, np.float64), np.asarray(d.landmarks, np.float32), time,
                          float(d.score), _shape_of(d.box, d.landmarks), last_detected=time)  # fmt: skip
                t.history.append((time, *eye_frame(t.landmarks)[0]))
                self._next_key += 1
                if self.min_hits <= 1:
                    self._confirm(t)
                self.tracks.append(t)
                pairs.append((t, d))
        return pairs, unmatched

    # ------------------------------------------------------------------------------------- frames in between

    def observe(self, track: Track, landmarks: np.ndarray, time: float) -> None:
        """The face of ``track`` was found (re-fitted, not detected) with these ``(5, 2)`` landmarks at ``time``."""
        self._move(track, landmarks, time, box=None)
        track.detected = False

    def coast(self, track: Track, time: float) -> None:
        """The face of ``track`` was not seen at ``time``: it keeps moving at its velocity (its box and landmarks are
        the predicted ones; :attr:`Track.time` stays the time of the last sighting)."""
        track.visible = False
        track.detected = False

    def prune(self, time: float, size: tuple[int, int] | None = None) -> list[Track]:
        """End the tracks that are over (see the class docstring) at ``time``; ``size``: ``(width, height)`` of the
        picture, to end tracks whose predicted box left it. Returns the tracks ended now (also kept in
        :attr:`ended`)."""
        keep, gone = [], []
        for t in self.tracks:
            over = (
                (t.misses > self.tentative_misses)
                if not t.confirmed
                else (time - t.last_detected > self.max_age)
            )
            if not over and size is not None and not t.visible:
                x, y, w, h = t.predicted_box(time)
                cx, cy = x + w / 2.0, y + h / 2.0
                over = not (0 <= cx < size[0] and 0 <= cy < size[1])
            (gone if over else keep).append(t)
        self.tracks = keep
        self.ended.extend(gone)
        return gone

    def finish(self) -> None:
        """End of the video: tentative tracks that were never missed are confirmed (they had no chance to be
        detected again), the others dropped; every track ends."""
        for t in self.tracks:
            if not t.confirmed and t.misses == 0:
                self._confirm(t)
        self.ended.extend(self.tracks)
        self.tracks = []

    def pop_ended(self) -> list[Track]:
        out, self.ended = self.ended, []
        return out

    # ---------------------------------------------------------------------------------------------- internals

    def _confirm(self, t: Track) -> None:
        t.face_id = self._next_id
        self._next_id += 1

    def _move(self, t: Track, landmarks: np.ndarray, time: float, box: np.ndarray | None) -> None:
        lm = np.asarray(landmarks, np.float32)
        mid = eye_frame(lm)[0]
        if time > t.time:
            recent = [h for h in t.history if h[0] >= time - self.velocity_window]
            if len(recent) >= 2:
                # least-squares slope of x(t), y(t) over the window, this position included
                a = np.array(recent + [(time, *mid)])
                tt = a[:, 0] - a[:, 0].mean()
                t.velocity = (tt[:, None] * (a[:, 1:] - a[:, 1:].mean(0))).sum(0) / max(
                    float((tt * tt).sum()), 1e-12
                )
            else:
                # the first step, or the first sighting after a gap: the mean motion since the last sighting
                t.velocity = (mid - eye_frame(t.landmarks)[0]) / (time - t.time)
        t.history.append((time, float(mid[0]), float(mid[1])))
        t.landmarks = lm
        t.box = box if box is not None else t.box_from_landmarks(lm)
        t.time = time
        t.visible = True
