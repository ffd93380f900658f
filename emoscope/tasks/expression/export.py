"""Export a trained expression checkpoint to ONNX, calibrate it on the validation splits, write its metadata."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emoscope.datasets import load_fer2013, load_ferplus
from emoscope.tasks.expression.calibration import fit_temperature, nll
from emoscope.tasks.expression.train import load_checkpoint, predict_logits


class _TupleOutputs(torch.nn.Module):
    def __init__(self, model: torch.nn.Module, heads: list[str]):
        super().__init__()
        self.model, self.heads = model, heads

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return tuple(out[h] for h in self.heads)


def export_onnx(model: torch.nn.Module, path: str | Path, opset: int = 17) -> Path:
    """Write ``model`` (an ExpressionNet) to ONNX: input ``pixels`` ``(N, 1, 48, 48)``, one output per head."""
    heads = list(model.config.heads)
    size = model.config.input_size
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.onnx.export(
        _TupleOutputs(model.eval(), heads), torch.rand(2, 1, size, size) * 255, str(tmp),
        input_names=["pixels"], output_names=heads, opset_version=opset,
        dynamic_axes={"pixels": {0: "batch"}, **{h: {0: "batch"} for h in heads}}, dynamo=False,
    )  # fmt: skip
    os.replace(tmp, path)
    return path


def export_and_calibrate(
    checkpoint: str | Path,
    out: str | Path,
    fer2013: str | None = None,
    ferplus: str | None = None,
    default_head: str = "ferplus",
) -> dict[str, Any]:
    """Checkpoint -> ``out`` (.onnx) + ``out`` with .json: classes per head, temperatures fitted on each head's
    validation split (FER2013 PublicTest, FER+ Valid), validation figures, provenance. Returns the metadata."""
    import onnxruntime as ort

    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = load_checkpoint(checkpoint)
    out = Path(out)
    export_onnx(model, out)
    # the ONNX graph must compute what PyTorch computes
    x = (torch.rand(8, 1, 48, 48) * 255).numpy()
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    ref = predict_logits(model, x[:, 0].astype(np.uint8), torch.device("cpu"))
    got = sess.run(None, {"pixels": x[:, 0].astype(np.uint8)[:, None].astype(np.float32)})
    for h, g in zip(model.config.heads, got, strict=True):
        err = float(np.abs(ref[h] - g).max())
        if err > 1e-3:
            raise RuntimeError(f"ONNX export of head {h} differs from PyTorch by {err}")
    heads: dict[str, Any] = {}
    sources = {"fer2013": (fer2013, load_fer2013), "ferplus": (ferplus, load_ferplus)}
    for h, classes in model.config.heads.items():
        entry: dict[str, Any] = {"classes": list(classes), "temperature": 1.0}
        path, loader = sources.get(h, (None, None))
        if path and loader:
            val = loader(path, "val")
            keep = val.labels >= 0
            logits = predict_logits(model, val.images[keep], torch.device("cpu"))[h]
            y = val.labels[keep]
            t = fit_temperature(logits, y)
            entry.update(temperature=round(t, 4), calibrated_on=f"{val.name} (n={int(keep.sum())})",
                         val_accuracy=float((logits.argmax(1) == y).mean()),
                         val_nll_before=nll(logits, y, 1.0), val_nll_after=nll(logits, y, t))  # fmt: skip
        heads[h] = entry
    meta = {
        "format": 1,
        "task": "expression",
        "model_name": ck["model_name"],
        "input": "pixels",
        "input_size": model.config.input_size,
        "input_description": "(N, 1, 48, 48) float32 grey pixel values 0..255 of an aligned face crop",
        "default_head": default_head if default_head in heads else next(iter(heads)),
        "heads": heads,
        "trained_epoch": ck["epoch"],
        "train_config": ck["config"],
        "onnx_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "onnx_bytes": out.stat().st_size,
    }
    meta_path = out.with_suffix(".json")
    tmp = meta_path.with_name(meta_path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, meta_path)
    return meta
