"""Expression inference on ONNX Runtime (no PyTorch needed).

The shipped model lives in ``emoscope/weights/``: ``expression.onnx`` (input ``pixels``: ``(N, 1, 48, 48)`` float32
grey pixel values in [0, 255], outputs: one ``(N, K)`` logit tensor per head) and ``expression.json`` (the class
names of each head, the calibration temperatures fitted on the validation split, the scores and the command that
produced them).

A model that cannot be used raises a :class:`ModelError` naming the file (or the option) and what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import ModelError, ModelNotFoundError, UnknownHeadError
from emoscope.faces.preprocess import prepare_faces

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
DEFAULT_MODEL = WEIGHTS_DIR / "expression.onnx"
#: Most ONNX Runtime threads accepted (``--threads``): far above any CPU's cores; huge values crash ONNX Runtime.
MAX_THREADS = 256


def check_threads(threads: object) -> None:
    """A :class:`ModelError` unless ``threads`` is None or an integer in ``0..MAX_THREADS`` (0 = ONNX Runtime's
    default)."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise ModelError(f"threads={threads!r}", f"the number of ONNX Runtime threads must be an integer "
                         f"0..{MAX_THREADS} (0 = all cores); got {type(threads).__name__}")  # fmt: skip
    if not 0 <= threads <= MAX_THREADS:
        raise ModelError(f"threads={threads}", f"the number of ONNX Runtime threads must be 0..{MAX_THREADS} "
                         "(0 = all cores)")  # fmt: skip


def _load_meta(meta_path: Path) -> dict[str, Any]:
    """Read and check a model's metadata ``.json``: ``heads`` maps head names to ``{"classes": [...], ...}``."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelError(meta_path, f"model metadata is not valid JSON ({e})") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(meta_path, f"model metadata cannot be read ({e})") from e
    task = meta.get("task") if isinstance(meta, dict) else None
    if task is not None and task != "expression":
        what = {"va": "a valence/arousal model", "micro": "a micro-expression model"}.get(str(task), "")
        raise ModelError(meta_path, f"not an expression model (task {task!r})" + (f"; it is {what}" if what else ""))
    heads = meta.get("heads") if isinstance(meta, dict) else None
    if not isinstance(heads, dict) or not heads:
        raise ModelError(meta_path, "model metadata has no 'heads' object (head name -> classes)")
    for name, h in heads.items():
        if not isinstance(h, dict) or not isinstance(h.get("classes"), list) or not h["classes"]:
            raise ModelError(meta_path, f"model metadata: head {name!r} has no list of 'classes'")
    return meta


def _check_sha256(model_path: Path, meta_path: Path, meta: dict[str, Any]) -> None:
    """A :class:`ModelError` when the metadata records an ``onnx_sha256`` other than the ``.onnx`` file's (the
    metadata, its classes and temperatures, were written for another network)."""
    want = meta.get("onnx_sha256")
    if not isinstance(want, str) or not want:
        return
    import hashlib

    try:
        got = hashlib.sha256(model_path.read_bytes()).hexdigest()
    except OSError as e:
        raise ModelError(model_path, f"cannot be read ({e.strerror or e})") from e
    if got.lower() != want.strip().lower():
        raise ModelError(meta_path, "written for another .onnx (sha256 differs); re-export or restore the pair")


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


class ExpressionRecognizer:
    """Classify face crops into emotions with calibrated probabilities.

    model: path to an ``.onnx`` file with its ``.json`` metadata beside it (default: the shipped model).
    head: which label set to report: ``ferplus`` (8 emotions incl. contempt, default) or ``fer2013`` (7 classes).
    threads: ONNX Runtime intra-op threads (None = ONNX Runtime's default, all cores).
    calibrated: apply the temperature fitted on the validation split (True) or return raw softmax (False).
    tta: average the logits of each face and its mirror image (horizontal flip); None = as the model's metadata
        says (the setting it was calibrated and evaluated with).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        head: str | None = None,
        threads: int | None = None,
        calibrated: bool = True,
        tta: bool | None = None,
    ):
        import onnxruntime as ort

        self.model_path = Path(model) if model else DEFAULT_MODEL
        meta_path = self.model_path.with_suffix(".json")
        if not self.model_path.is_file():
            folder = self.model_path.is_dir()
            raise ModelNotFoundError(self.model_path, "is a folder, not a model" if folder else "expression model not found")
        if not meta_path.is_file():
            raise ModelNotFoundError(meta_path, "model metadata (classes, temperature) not found beside it")
        self.meta: dict[str, Any] = _load_meta(meta_path)
        heads = self.meta["heads"]
        self.head = head or self.meta.get("default_head", next(iter(heads)))
        if self.head not in heads:
            raise UnknownHeadError(self.model_path, f"the model has no head {self.head!r} (--head); heads: "
                                   + ", ".join(sorted(heads)))  # fmt: skip
        try:
            self.classes: tuple[str, ...] = tuple(str(c) for c in heads[self.head]["classes"])
            self.temperature = float(heads[self.head].get("temperature", 1.0)) if calibrated else 1.0
            self.input_size = int(self.meta.get("input_size", 48))
        except (TypeError, ValueError) as e:
            raise ModelError(meta_path, f"model metadata has a bad temperature or input_size ({e})") from e
        if not (self.temperature > 0) or self.input_size < 1:
            raise ModelError(meta_path, f"model metadata: temperature ({self.temperature}) and input_size "
                             f"({self.input_size}) must be positive")  # fmt: skip
        self.tta = bool(self.meta.get("tta", False)) if tta is None else tta
        check_threads(threads)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(self.model_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:
            # onnxruntime's own error types (InvalidProtobuf, Fail, InvalidGraph, ...) derive from Exception only
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ModelError(self.model_path, f"not a readable ONNX model ({why})") from e
        _check_sha256(self.model_path, meta_path, self.meta)
        self._input = self._session.get_inputs()[0].name
        outputs = [o.name for o in self._session.get_outputs()]
        if self.head not in outputs:
            raise ModelError(self.model_path, f"the ONNX graph has no output {self.head!r} for that head of its "
                             f"metadata; outputs: {', '.join(outputs)}")  # fmt: skip

    def logits(self, faces: Sequence[np.ndarray] | np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Raw logits of the chosen head, ``(N, K)``. ``faces``: crops of any size/colour, or an ``(N, 1, 48, 48)``
        float32 batch already prepared by :func:`emoscope.faces.prepare_faces`."""
        x = faces if isinstance(faces, np.ndarray) and faces.ndim == 4 else prepare_faces(faces, self.input_size)
        if len(x) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        outs = []
        for s in range(0, len(x), batch_size):
            xb = np.ascontiguousarray(x[s : s + batch_size], np.float32)
            if self.tta:
                xb = np.concatenate([xb, xb[..., ::-1]])
            z = self._session.run([self.head], {self._input: xb})[0]
            outs.append((z[: len(z) // 2] + z[len(z) // 2 :]) / 2 if self.tta else z)
        return np.concatenate(outs)

    def predict_proba(self, faces: Sequence[np.ndarray] | np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Calibrated probabilities ``(N, K)`` over :attr:`classes`."""
        return softmax(self.logits(faces, batch_size) / self.temperature)

    def predict(self, faces: Sequence[np.ndarray] | np.ndarray) -> list[str]:
        """Most probable class name per face."""
        return [self.classes[i] for i in self.predict_proba(faces).argmax(axis=1)]
