"""Valence / arousal regression: ONNX inference and evaluation (no PyTorch needed; training is in
:mod:`emoscope.tasks.affect.va_train`).

A VA model is an exported network (``va.onnx``, input ``pixels``: ``(N, 1, 48, 48)`` float32 grey values in
[0, 255] of an aligned face; output ``va``: ``(N, 2)`` (valence, arousal) in [-1, 1] after tanh) with its metadata
``va.json`` beside it (``task: "va"``).

Metrics (AVEC / AffectNet practice): concordance correlation coefficient (CCC) and RMSE per dimension, on the
[-1, 1] scale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import ModelError, ModelNotFoundError
from emoscope.faces.preprocess import prepare_faces


class VARegressor:
    """Valence and arousal of face crops from an exported VA model.

    model: ``.onnx`` file with its ``.json`` metadata beside it (written by ``emoscope export va``).
    threads: ONNX Runtime intra-op threads (None = its default).
    """

    def __init__(self, model: str | Path, threads: int | None = None):
        import onnxruntime as ort

        self.model_path = Path(model)
        meta_path = self.model_path.with_suffix(".json")
        if not self.model_path.is_file():
            raise ModelNotFoundError(self.model_path, "valence/arousal model not found")
        if not meta_path.is_file():
            raise ModelNotFoundError(meta_path, "model metadata not found beside the model")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(meta_path, f"model metadata cannot be read as JSON ({e})") from e
        if not isinstance(meta, dict) or meta.get("task") != "va":
            task = meta.get("task") if isinstance(meta, dict) else None
            if task is None and isinstance(meta, dict) and "heads" in meta:
                task = "expression"
            raise ModelError(self.model_path, f"not a valence/arousal model (task {task!r}); give a model "
                             "written by 'emoscope export va'")  # fmt: skip
        self.meta: dict[str, Any] = meta
        try:
            self.input_size = int(self.meta.get("input_size", 48))
        except (TypeError, ValueError) as e:
            raise ModelError(meta_path, f"model metadata has a bad input_size ({e})") from e
        from emoscope.tasks.expression.predictor import check_threads

        check_threads(threads)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(self.model_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's own error types derive from Exception only
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ModelError(self.model_path, f"not a readable ONNX model ({why})") from e
        self._input = self._session.get_inputs()[0].name
        self._output = self.meta.get("output", "va")

    def predict(self, faces: Sequence[np.ndarray] | np.ndarray, batch_size: int = 256) -> np.ndarray:
        """``(N, 2)`` float32 (valence, arousal) in [-1, 1]. ``faces``: crops of any size / colour, or an
        ``(N, 1, 48, 48)`` float32 batch from :func:`emoscope.faces.prepare_faces`."""
        x = (
            faces
            if isinstance(faces, np.ndarray) and faces.ndim == 4
            else prepare_faces(faces, self.input_size)
        )
        if len(x) == 0:
            return np.zeros((0, 2), np.float32)
        outs = [
            self._session.run(
                [self._output], {self._input: np.ascontiguousarray(x[s : s + batch_size], np.float32)}
            )[0]
            for s in range(0, len(x), batch_size)
        ]
        return np.clip(np.concatenate(outs), -1.0, 1.0).astype(np.float32)


def va_report(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Figures for ``(N, 2)`` true and predicted (valence, arousal): per dimension ``ccc``, ``rmse``,
    ``pearson_r``, ``mean_true`` / ``mean_pred``; ``mean_ccc`` (the model-selection score) and ``n``."""
    from emoscope.evaluation.metrics import ccc, rmse

    y = np.asarray(y, np.float64)
    pred = np.asarray(pred, np.float64)
    if y.shape != pred.shape or y.ndim != 2 or y.shape[1] != 2:
        raise ValueError(f"y and pred must both be (N, 2), got {y.shape} and {pred.shape}")
    rep: dict[str, Any] = {"n": int(len(y))}
    for i, name in enumerate(("valence", "arousal")):
        with np.errstate(invalid="ignore", divide="ignore"):
            r = float(np.corrcoef(y[:, i], pred[:, i])[0, 1]) if len(y) > 1 else float("nan")
        rep[name] = {"ccc": ccc(y[:, i], pred[:, i]), "rmse": rmse(y[:, i], pred[:, i]), "pearson_r": r,
                     "mean_true": float(y[:, i].mean()), "mean_pred": float(pred[:, i].mean())}  # fmt: skip
    rep["mean_ccc"] = (rep["valence"]["ccc"] + rep["arousal"]["ccc"]) / 2
    return rep


def format_va_report(rep: dict[str, Any], title: str = "") -> str:
    """Human-readable text of a :func:`va_report`."""
    lines = [title] if title else []
    lines.append(f"n={rep['n']}  mean CCC={rep['mean_ccc']:.4f}")
    for name in ("valence", "arousal"):
        d = rep[name]
        lines.append(f"{name:8s} CCC={d['ccc']:.4f}  RMSE={d['rmse']:.4f}  r={d['pearson_r']:.4f}  "
                     f"mean true/pred={d['mean_true']:+.3f}/{d['mean_pred']:+.3f}")  # fmt: skip
    return "\n".join(lines)


def evaluate_va(
    csv_path: str | Path,
    images: str | Path | None = None,
    model: str | Path | None = None,
    *,
    derived: bool = False,
    expression_model: str | Path | None = None,
    threads: int | None = None,
    limit: int = 0,
) -> dict[str, Any]:
    """Score valence / arousal on an AffectNet-format CSV (:func:`emoscope.datasets.affectnet.load_affectnet`).

    model: an exported VA model (``emoscope export va``); or ``derived=True``: the circumplex mapping of an
    expression model's emotion distribution (``expression_model``, default the shipped one), the reading
    ``emoscope predict`` reports as ``va_source: "derived"``.
    """
    from emoscope.datasets.affectnet import load_affectnet

    if (model is None) == (not derived):
        raise ValueError("give a VA model or derived=True (not both)")
    data = load_affectnet(csv_path, images, limit=limit)
    if derived:
        from emoscope.tasks.affect.reader import AffectReader
        from emoscope.tasks.expression.predictor import ExpressionRecognizer

        rec = ExpressionRecognizer(expression_model, threads=threads)
        reader = AffectReader.for_recognizer(rec)
        pred = reader.derived_va(rec.predict_proba(data.images))
        source, model_path = "derived", str(rec.model_path)
    else:
        reg = VARegressor(model, threads=threads)
        pred = reg.predict(data.images)
        source, model_path = "model", str(reg.model_path)
    rep = va_report(data.va, pred)
    rep.update(data=str(csv_path), images=str(images) if images else None, model=model_path, va_source=source,
               no_va_skipped=data.no_va)  # fmt: skip
    return rep
