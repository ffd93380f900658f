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


def evaluate_expression(
    dataset: str,
    data: str | Path,
    split: str = "test",
    model: str | Path | None = None,
    head: str | None = None,
    threads: int | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Score ``model`` on ``dataset``'s ``split``. Returns ``(report, classes)``.

    FER2013 is scored with the model's ``fer2013`` head (7 classes), FER+ with its ``ferplus`` head (majority-vote
    labels over 8 emotions; images whose majority is unknown / not-a-face are left out), a generic class folder
    with the default head, its folder names matched to the head's class names.
    """
    rec = ExpressionRecognizer(model, head=head or _HEAD_FOR.get(dataset), threads=threads)
    fs = load_dataset(dataset, str(data), split)
    keep = fs.labels >= 0
    y = fs.labels[keep]
    probs = rec.predict_proba(fs.images[keep])
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
    report = classification_report(y, probs, classes)
    report.update(dataset=dataset, split=split, data=str(data), head=rec.head, model=str(rec.model_path),
                  temperature=rec.temperature, excluded=int((~keep).sum()))  # fmt: skip
    return report, classes
