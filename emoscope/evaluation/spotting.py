"""The MEGC spotting metric (MEGC2019-2022 challenges, Li et al.; Yap et al.): a spotted interval is a true positive
when its intersection-over-union with a ground-truth interval is at least 0.5; each ground-truth interval is hit at
most once. Precision, recall and F1 are computed over all clips together (sum of TP, spotted and true intervals).

Intervals are ``(onset, offset)`` frame indices, both INCLUSIVE (as in the datasets' coding sheets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Interval = tuple[int, int]


def interval_iou(a: Interval, b: Interval) -> float:
    """IoU of two inclusive frame intervals: ``|a ∩ b| / |a ∪ b|`` in frames."""
    if a[1] < a[0] or b[1] < b[0]:
        raise ValueError(f"intervals must have onset <= offset, got {a} and {b}")
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def match_intervals(pred: Sequence[Interval], truth: Sequence[Interval], iou: float = 0.5) -> list[tuple[int, int]]:
    """Pairs ``(pred_index, truth_index)`` with IoU >= ``iou``, matched greedily from the highest IoU, one-to-one."""
    cand = sorted(((interval_iou(p, t), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth)), reverse=True)
    used_p: set[int] = set()
    used_t: set[int] = set()
    pairs = []
    for v, i, j in cand:
        if v < iou:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            pairs.append((i, j))
    return pairs


def spotting_scores(
    pred: Sequence[Sequence[Interval]], truth: Sequence[Sequence[Interval]], iou: float = 0.5
) -> dict[str, Any]:
    """MEGC spotting figures over several clips: ``pred[c]`` / ``truth[c]`` are the intervals of clip ``c``.

    Returns ``tp``, ``n_pred``, ``n_true``, ``precision``, ``recall``, ``f1`` (0 where undefined).
    """
    if len(pred) != len(truth):
        raise ValueError(f"{len(pred)} clips of spotted intervals but {len(truth)} of ground truth")
    tp = sum(len(match_intervals(p, t, iou)) for p, t in zip(pred, truth, strict=True))
    n_pred = sum(len(p) for p in pred)
    n_true = sum(len(t) for t in truth)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "n_pred": n_pred, "n_true": n_true, "precision": precision, "recall": recall, "f1": f1}
