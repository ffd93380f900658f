"""Evaluation of an exported (ONNX) expression model on a labelled split, through the same code path as
inference (:class:`~emoscope.tasks.expression.predictor.ExpressionRecognizer`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emoscope.datasets import load_dataset
from emoscope.errors import DatasetError
from emoscope.evaluation.metrics import classification_report
from emoscope.tasks.expression.predictor import ExpressionRecognizer

_HEAD_FOR = {"fer2013": "fer2013", "ferplus": "ferplus"}
FERPLUS_PROTOCOLS = ("official", "plurality")


def ferplus_protocol_labels(votes: np.ndarray, protocol: str) -> np.ndarray:
    """``(N, 10)`` FER+ votes -> ``(N,)`` hard labels of ``protocol`` (-1: left out of the figures).

    ``official``: the FER+ authors' majority protocol (single votes dropped, more than half of the rest);
    ``plurality``: the emotion with the most votes, ambiguous images included (see :mod:`emoscope.datasets.ferplus`).
    """
    from emoscope.datasets.ferplus import majority_labels, official_majority_labels

    if protocol == "official":
        return official_majority_labels(votes)
    if protocol == "plurality":
        return majority_labels(votes)
    raise ValueError(f"unknown FER+ protocol {protocol!r}; use one of {FERPLUS_PROTOCOLS}")


def evaluate_expression(
    dataset: str,
    data: str | Path,
    split: str = "test",
    model: str | Path | None = None,
    head: str | None = None,
    threads: int | None = None,
    protocol: str = "official",
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Score ``model`` on ``dataset``'s ``split``. Returns ``(report, classes)``.

    FER2013 is scored with the model's ``fer2013`` head (7 classes), FER+ with its ``ferplus`` head (8 emotions)
    against the hard labels of ``protocol`` (``official``: the FER+ authors' majority protocol, the one published
    FER+ figures use; ``plurality``: every image whose top vote is an emotion, ambiguous ones included); the FER+
    report also holds ``protocols``: n, accuracy and macro-F1 under both. A generic class folder is scored with
    the default head, its folder names matched to the head's class names.
    """
    if protocol not in FERPLUS_PROTOCOLS:
        raise ValueError(f"unknown FER+ protocol {protocol!r}; use one of {FERPLUS_PROTOCOLS}")
    rec = ExpressionRecognizer(model, head=head or _HEAD_FOR.get(dataset), threads=threads)
    fs = load_dataset(dataset, str(data), split)
    by_protocol = {}
    if dataset == "ferplus" and fs.votes is not None:
        by_protocol = {p: ferplus_protocol_labels(fs.votes, p) for p in FERPLUS_PROTOCOLS}
    labels = by_protocol.get(protocol, fs.labels)
    scored = np.zeros(len(labels), bool)
    for lab in (labels, *by_protocol.values()):
        scored |= lab >= 0
    probs_all = np.zeros((len(labels), len(rec.classes)), np.float32)
    if scored.any():
        probs_all[scored] = rec.predict_proba(fs.images[scored])
    keep = labels >= 0
    y, probs = labels[keep], probs_all[keep]
    classes = rec.classes
    if tuple(fs.classes) != classes:
        # map the dataset's class order onto the head's (generic folders, or another head)
        from emoscope.labels import canonical

        try:
            names = [canonical(c) for c in fs.classes]
        except KeyError as e:
            raise DatasetError(f"{data}: class folder {e} is not an emotion the model knows ({classes})") from e
        missing = [c for c in names if c not in classes]
        if missing:
            raise DatasetError(f"{data}: classes {missing} are not predicted by head {rec.head} ({classes})")
        y = np.asarray([classes.index(names[i]) for i in y])
        by_protocol = {}  # the protocols' labels index the FER+ classes, not this head's
    report = classification_report(y, probs, classes)
    report.update(dataset=dataset, split=split, data=str(data), head=rec.head, model=str(rec.model_path),
                  temperature=rec.temperature, excluded=int((~keep).sum()))  # fmt: skip
    if by_protocol:
        report["protocol"] = protocol
        report["protocols"] = {}
        for p, lab in by_protocol.items():
            k = lab >= 0
            r = classification_report(lab[k], probs_all[k], classes)
            report["protocols"][p] = {"n": r["n"], "accuracy": r["accuracy"], "macro_f1": r["macro_f1"]}
    return report, classes
