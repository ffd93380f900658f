"""Classification metrics (scikit-learn underneath) and calibration error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, recall_score


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error (Guo et al. 2017) of the top-1 confidence, equal-width bins over [0, 1].

    probs: ``(N, K)`` probabilities; y: ``(N,)`` true class indices. Returns a value in [0, 1] (0 = calibrated).
    """
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def uf1_uar(y: np.ndarray, pred: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Micro-expression figures (MEGC protocol): UF1 = mean per-class F1, UAR = mean per-class recall.

    y, pred: ``(N,)`` true and predicted class indices in ``0..n_classes-1``. Classes absent from ``y`` are left
    out of both means (as in :func:`classification_report`); a class that is predicted but never true still
    lowers the F1 of the classes it was confused with. Returns ``n, uf1, uar, accuracy``, ``per_class_f1`` and
    ``per_class_recall`` (lists, one value per class index; NaN for an absent class) and ``confusion``
    (``n_classes x n_classes`` counts, rows = true, columns = predicted).
    """
    y = np.asarray(y, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if y.shape != pred.shape or y.ndim != 1:
        raise ValueError(f"y and pred must be 1-D and equally long, got shapes {y.shape} and {pred.shape}")
    labels = list(range(n_classes))
    cm = confusion_matrix(y, pred, labels=labels) if len(y) else np.zeros((n_classes, n_classes), np.int64)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    present = support > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(present, tp / support, np.nan)
        f1 = np.where(present, 2 * tp / (support + predicted), np.nan)
    return {
        "n": int(len(y)),
        "uf1": float(f1[present].mean()) if present.any() else float("nan"),
        "uar": float(recall[present].mean()) if present.any() else float("nan"),
        "accuracy": float((y == pred).mean()) if len(y) else float("nan"),
        "per_class_f1": [float(v) for v in f1],
        "per_class_recall": [float(v) for v in recall],
        "confusion": cm.tolist(),
    }


def classification_report(y: np.ndarray, probs: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """All the figures ``emoscope evaluate`` prints.

    y: ``(N,)`` true class indices into ``classes``; probs: ``(N, K)`` predicted probabilities.
    Returns ``n, accuracy, macro_f1, uar`` (unweighted average recall), ``per_class_recall``,
    ``per_class_f1``, ``support``, ``confusion`` (rows = true, columns = predicted), ``ece``, ``nll``.
    """
    y = np.asarray(y)
    pred = probs.argmax(axis=1)
    labels = list(range(len(classes)))
    rec = recall_score(y, pred, labels=labels, average=None, zero_division=0)
    f1 = f1_score(y, pred, labels=labels, average=None, zero_division=0)
    present = np.bincount(y, minlength=len(classes)) > 0
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1[present].mean()),
        "uar": float(rec[present].mean()),
        "per_class_recall": {c: float(r) for c, r in zip(classes, rec, strict=True)},
        "per_class_f1": {c: float(v) for c, v in zip(classes, f1, strict=True)},
        "support": {c: int(s) for c, s in zip(classes, np.bincount(y, minlength=len(classes)), strict=True)},
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
        "ece": expected_calibration_error(probs, y),
        "nll": float(-np.log(p_true).mean()),
    }


def format_report(rep: dict[str, Any], classes: Sequence[str], title: str = "") -> str:
    """Human-readable text of a :func:`classification_report` (figures, per-class table, confusion matrix)."""
    lines = [title] if title else []
    lines.append(
        f"n={rep['n']}  accuracy={rep['accuracy']:.4f}  macro_f1={rep['macro_f1']:.4f}  "
        f"uar={rep['uar']:.4f}  ece={rep['ece']:.4f}  nll={rep['nll']:.4f}"
    )
    w = max(len(c) for c in classes)
    lines.append(f"{'class':<{w}}  recall      f1  support")
    for c in classes:
        lines.append(f"{c:<{w}}  {rep['per_class_recall'][c]:6.4f}  {rep['per_class_f1'][c]:6.4f}  {rep['support'][c]:7d}")
    lines.append("confusion matrix (rows = true, columns = predicted):")
    short = [c[:5] for c in classes]
    lines.append(" " * (w + 2) + " ".join(f"{s:>5}" for s in short))
    for c, row in zip(classes, rep["confusion"], strict=True):
        lines.append(f"{c:<{w}}  " + " ".join(f"{v:5d}" for v in row))
    return "\n".join(lines)


def ccc(y: np.ndarray, pred: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (1989) between two ``(N,)`` series, e.g. true and predicted
    valence: ``2 cov / (var_y + var_pred + (mean_y - mean_pred)^2)`` with population (1/N) moments.

    1 = identical, 0 = no agreement (also for a constant prediction), -1 = mirrored. NaN when ``N == 0`` or both
    series are the same constant.
    """
    y = np.asarray(y, np.float64).ravel()
    pred = np.asarray(pred, np.float64).ravel()
    if y.shape != pred.shape:
        raise ValueError(f"y and pred must have the same length, got {y.shape} and {pred.shape}")
    if len(y) == 0:
        return float("nan")
    my, mp = y.mean(), pred.mean()
    cov = ((y - my) * (pred - mp)).mean()
    denom = y.var() + pred.var() + (my - mp) ** 2
    return float(2 * cov / denom) if denom > 0 else float("nan")


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    """Root mean squared error between two ``(N,)`` series (in their unit, e.g. valence on [-1, 1])."""
    y = np.asarray(y, np.float64).ravel()
    pred = np.asarray(pred, np.float64).ravel()
    if y.shape != pred.shape:
        raise ValueError(f"y and pred must have the same length, got {y.shape} and {pred.shape}")
    return float(np.sqrt(((y - pred) ** 2).mean())) if len(y) else float("nan")


def kl_divergence(q: np.ndarray, p: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise KL(q || p) in nats of ``(N, K)`` distributions (q: reference, e.g. annotators' votes; p: model).

    Terms with ``q == 0`` count 0; ``p`` is clipped to ``eps`` so the value stays finite. Returns ``(N,)``.
    """
    q = np.asarray(q, np.float64)
    p = np.clip(np.asarray(p, np.float64), eps, 1.0)
    ratio = np.where(q > 0, q, 1.0) / p
    return np.where(q > 0, q * np.log(ratio), 0.0).sum(axis=1)


def distribution_overlap(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Row-wise ``1 - total variation distance = sum_k min(q_k, p_k)`` of ``(N, K)`` distributions, in [0, 1]
    (1 = identical). Returns ``(N,)``."""
    return np.minimum(np.asarray(q, np.float64), np.asarray(p, np.float64)).sum(axis=1)


def binary_prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of the positive class of two boolean ``(N,)`` arrays (0 where undefined), plus
    the counts ``tp``, ``n_true`` and ``n_pred``."""
    y = np.asarray(y, bool)
    pred = np.asarray(pred, bool)
    tp = int((y & pred).sum())
    n_true, n_pred = int(y.sum()), int(pred.sum())
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "n_true": n_true, "n_pred": n_pred}
