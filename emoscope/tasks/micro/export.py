"""Train a micro-expression network on the WHOLE MEGC2019 composite and ship it as ONNX + metadata.

The recipe is the one LOSO evaluates (:data:`~emoscope.tasks.micro.loso.RECIPES`), with no early stopping or
selection, so the LOSO figures are the honest estimate of how this network does on new people. The calibration
temperature is fitted on the pooled held-out LOSO predictions of the same model and recipe (out-of-fold, so never
on samples a network was trained on): the ``--predictions`` CSV of ``emoscope evaluate micro``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emoscope.datasets.megc2019 import MicroSet
from emoscope.errors import EmoscopeError
from emoscope.tasks.expression.calibration import fit_temperature, nll
from emoscope.tasks.micro.loso import RECIPES, MicroRecipe, check_micro_model, train_model


class SeedEnsemble(torch.nn.Module):
    """Several networks of one architecture (trained with different seeds) as one: outputs the log of their mean
    probability, so that softmax of the output is the ensemble's probability (and temperature scaling applies)."""

    def __init__(self, nets: Sequence[torch.nn.Module]):
        super().__init__()
        self.nets = torch.nn.ModuleList(nets)
        self.config = nets[0].config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.stack([torch.softmax(n(x), dim=1) for n in self.nets]).mean(dim=0)
        return torch.log(p.clamp_min(1e-12))


def export_micro_onnx(net: torch.nn.Module, path: str | Path, opset: int = 17) -> Path:
    """Write a micro network to ONNX: input ``flow`` ``(N, 3, 28, 28)`` float32 in [0, 1], output ``logits``
    ``(N, K)``. Written to a temporary file first, then moved into place; checked against PyTorch."""
    import onnxruntime as ort

    size = int(getattr(net.config, "input_size", 28))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    net = net.eval()
    torch.onnx.export(
        net, torch.rand(2, 3, size, size), str(tmp), input_names=["flow"], output_names=["logits"],
        opset_version=opset, dynamic_axes={"flow": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
    )  # fmt: skip
    x = torch.rand(16, 3, size, size)
    with torch.no_grad():
        ref = net(x).numpy()
    got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"flow": x.numpy()})[0]
    err = float(np.abs(ref - got).max())
    if err > 1e-3:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ONNX export differs from PyTorch by {err}")
    os.replace(tmp, path)
    return path


def temperature_from_predictions(
    csv_path: str | Path, model: str, classes: tuple[str, ...], ensemble: bool = False
) -> dict[str, Any]:
    """Fit a temperature on held-out LOSO probabilities (``p_<class>`` columns of ``evaluate micro --predictions``).

    Temperature scaling of log-probabilities equals temperature scaling of the logits (softmax is shift-invariant).
    ensemble: the model is the seed ensemble: average each sample's probabilities over the seeds in the file first
    (else every row counts as one held-out prediction of a single network).
    """
    path = Path(csv_path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise EmoscopeError(f"{path}: cannot read the LOSO predictions ({e.strerror or e})") from e
    cols = [f"p_{c}" for c in classes]
    if not rows or any(c not in rows[0] for c in [*cols, "true"]):
        raise EmoscopeError(
            f"{path}: not a predictions CSV of 'emoscope evaluate micro' (needs true, {', '.join(cols)})"
        )
    if ensemble:
        by_name: dict[str, list[dict[str, str]]] = {}
        for r in rows:
            by_name.setdefault(r.get("name", ""), []).append(r)
        probs = np.array([[np.mean([float(r[c]) for r in rs]) for c in cols] for rs in by_name.values()])
        y = np.array([classes.index(rs[0]["true"]) for rs in by_name.values()])
    else:
        probs = np.array([[float(r[c]) for c in cols] for r in rows])
        y = np.array([classes.index(r["true"]) for r in rows])
    logits = np.log(np.clip(probs, 1e-12, 1.0))
    t = fit_temperature(logits, y)
    seeds = sorted({r.get("seed", "") for r in rows})
    kind = "seed-ensemble" if ensemble else "pooled"
    return {"temperature": round(t, 4), "calibrated_on": f"{path.name}: {kind} held-out LOSO predictions of "
            f"{model}, seeds {','.join(seeds)} (n={len(y)})", "nll_before": nll(logits, y, 1.0),
            "nll_after": nll(logits, y, t)}  # fmt: skip


def train_and_export(
    data: MicroSet,
    out: str | Path,
    model: str = "micro_attn",
    recipe: str = "default",
    seed: int | Sequence[int] = 0,
    loso_summary: dict[str, Any] | None = None,
    predictions_csv: str | Path | None = None,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``model`` on every sample of ``data`` with ``recipe`` and ``seed``; write ``out`` (.onnx) and its
    ``.json`` metadata (classes, input description, temperature, LOSO figures when given, provenance).

    seed: one seed, or several: then one network per seed, exported as one :class:`SeedEnsemble` graph.
    selection: how ``recipe`` was chosen (:func:`~emoscope.tasks.micro.loso.select_recipe`), stored as
    ``recipe_selection``.
    """
    seeds = [seed] if isinstance(seed, int) else [int(s) for s in seed]
    if not seeds:
        raise EmoscopeError("no seed given")
    check_micro_model(model)
    if recipe not in RECIPES:
        raise EmoscopeError(f"unknown recipe {recipe!r}; known: {sorted(RECIPES)}")
    rec: MicroRecipe = RECIPES[recipe]
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic as the LOSO folds
    try:
        nets = [train_model(model, data.flow, data.labels, rec, s) for s in seeds]
        net = nets[0] if len(nets) == 1 else SeedEnsemble(nets).eval()
    finally:
        torch.set_num_threads(old)
    out = Path(out)
    export_micro_onnx(net, out)
    import dataclasses

    meta: dict[str, Any] = {
        "format": 1,
        "task": "micro",
        "model_name": model,
        "input": "flow",
        "input_size": int(net.config.input_size),
        "input_description": "(N, 3, 28, 28) float32 in [0, 1]: onset->apex optical flow u, v and optical strain, "
        "each resized to 28x28 and min-max normalised per image (emoscope.features.flow_to_input)",
        "classes": list(data.classes),
        "temperature": 1.0,
        "trained_on": f"{data.name}: all {len(data)} samples, {len(data.subject_ids())} subjects",
        "recipe": recipe,
        "recipe_config": dataclasses.asdict(rec),
        **({"recipe_selection": selection} if selection is not None else {}),
        "seed": seeds[0] if len(seeds) == 1 else seeds,
        "ensemble": len(seeds),
        "command": " ".join(["emoscope", *sys.argv[1:]]) if sys.argv and "emoscope" in sys.argv[0] else None,
        "torch": torch.__version__,
    }
    if predictions_csv is not None:
        meta.update(temperature_from_predictions(predictions_csv, model, tuple(data.classes), len(seeds) > 1))
    if loso_summary is not None:
        if loso_summary.get("model") not in (None, model):
            raise EmoscopeError(f"the LOSO summary is of {loso_summary.get('model')}, not of {model}")
        keys = ("uf1", "uf1_std", "uar", "uar_std", "seeds", "recipe", "n", "folds", "per_dataset")
        meta["loso"] = {k: loso_summary[k] for k in keys if k in loso_summary}
    meta.update(onnx_sha256=hashlib.sha256(out.read_bytes()).hexdigest(), onnx_bytes=out.stat().st_size)
    jpath = out.with_suffix(".json")
    tmp = jpath.with_name(jpath.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, jpath)
    return meta
