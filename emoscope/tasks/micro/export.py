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
from emoscope.errors import EmoscopeError, InputError
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
    path = check_side_file(csv_path, "--calibrate-from")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise EmoscopeError(f"{path}: cannot read the LOSO predictions ({e.strerror or e})") from e
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(path, f"cannot be read as a CSV file ({e})") from e
    cols = [f"p_{c}" for c in classes]
    if not rows or any(c not in rows[0] for c in [*cols, "true"]):
        raise EmoscopeError(
            f"{path}: not a predictions CSV of 'emoscope evaluate micro' (needs true, {', '.join(cols)})"
        )
    p_all = np.empty((len(rows), len(cols)))
    for i, r in enumerate(rows):  # row i + 2 of the file: after the header
        try:
            p_all[i] = [float(r[c]) for c in cols]
        except (TypeError, ValueError):
            raise InputError(path, f"row {i + 2}: {', '.join(cols)} must be numbers") from None
        if r["true"] not in classes:
            raise InputError(
                path, f"row {i + 2}: true label {r['true']!r} is not one of {', '.join(classes)}"
            )
        if not (np.isfinite(p_all[i]).all() and (p_all[i] >= 0).all() and abs(p_all[i].sum() - 1) < 1e-3):
            raise InputError(path, f"row {i + 2}: {', '.join(cols)} are not probabilities summing to 1")
    if ensemble:
        by_name: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            by_name.setdefault(r.get("name", ""), []).append(i)
        probs = np.array([p_all[idx].mean(axis=0) for idx in by_name.values()])
        y = np.array([classes.index(rows[idx[0]]["true"]) for idx in by_name.values()])
    else:
        probs = p_all
        y = np.array([classes.index(r["true"]) for r in rows])
    logits = np.log(np.clip(probs, 1e-12, 1.0))
    t = fit_temperature(logits, y)
    seeds = sorted({r.get("seed", "") for r in rows})
    kind = "seed-ensemble" if ensemble else "pooled"
    return {"temperature": round(t, 4), "calibrated_on": f"{path.name}: {kind} held-out LOSO predictions of "
            f"{model}, seeds {','.join(seeds)} (n={len(y)})", "nll_before": nll(logits, y, 1.0),
            "nll_after": nll(logits, y, t)}  # fmt: skip


def read_loso_summary(path: str | Path) -> dict[str, Any]:
    """The LOSO figures printed by ``emoscope evaluate micro --json``: the last line of the file that starts with
    ``{`` (the file may hold the whole console output). Raises :class:`InputError` naming the file when it cannot be
    read or holds no such JSON object."""
    p = check_side_file(path, "--loso-json")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(p, f"cannot be read ({getattr(e, 'strerror', None) or e})") from e
    lines = [ln for ln in text.splitlines() if ln.strip().startswith("{")]
    if not lines:
        raise InputError(p, "no JSON line (expected the output of 'emoscope evaluate micro --json')")
    try:
        summary = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        raise InputError(p, f"its last JSON line is not valid JSON ({e})") from e
    if not isinstance(summary, dict):
        raise InputError(
            p, "its last JSON line is not an object (expected 'emoscope evaluate micro --json' output)"
        )
    return summary


def check_loso_summary(summary: dict[str, Any], model: str, source: str | Path = "the LOSO summary") -> None:
    """Raise :class:`EmoscopeError` unless ``summary`` holds the LOSO figures (uf1, uar) of ``model``."""
    if summary.get("model") not in (None, model):
        raise EmoscopeError(f"{source}: the LOSO summary is of {summary.get('model')}, not of {model}")
    bad = [k for k in ("uf1", "uar") if not isinstance(summary.get(k), (int, float))]
    if bad:
        raise EmoscopeError(f"{source}: the LOSO summary lacks the figure(s) {', '.join(bad)}")


def check_model_path(out: str | Path) -> Path:
    """The ``.onnx`` path a model is written to (its metadata goes beside it as ``.json``): refused when it does
    not end in ``.onnx`` or is a folder."""
    p = Path(out)
    if p.suffix.lower() != ".onnx":
        raise EmoscopeError(
            f"{p}: the model file must end in .onnx (its metadata is written beside it as .json)"
        )
    if p.is_dir():
        raise EmoscopeError(f"{p}: is a folder, not a model file")
    from emoscope.outputs.files import check_output_path

    check_output_path(p, "the model")  # its folder must be writable: checked before any training
    return p


#: the largest side file (LOSO summary, predictions CSV) read whole into memory
MAX_SIDE_FILE_BYTES = 50 * 1024 * 1024


def check_side_file(path: str | Path, option: str) -> Path:
    """Refuse, before reading it, an input that is not a regular file (``/dev/zero``, a FIFO, a folder) or is
    larger than :data:`MAX_SIDE_FILE_BYTES`: an :class:`InputError` naming the file and ``option``."""
    import stat

    from emoscope.input.files import special_kind

    p = Path(path)
    try:
        st = p.stat()
    except OSError:  # missing or unreadable: the reader names the problem in its own words
        return p
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else special_kind(st.st_mode)
        raise InputError(p, f"{option}: is {kind}, not a regular file")
    if st.st_size > MAX_SIDE_FILE_BYTES:
        raise InputError(p, f"{option}: too large ({st.st_size} bytes; at most {MAX_SIDE_FILE_BYTES})")
    return p


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

    Every input is checked before the training. Both files are written under temporary names and moved into place
    at the end, the ``.json`` last: a failure never leaves a new network beside old metadata (or the reverse).
    """
    seeds = [seed] if isinstance(seed, int) else [int(s) for s in seed]
    if not seeds:
        raise EmoscopeError("no seed given")
    check_micro_model(model)
    if recipe not in RECIPES:
        raise EmoscopeError(f"unknown recipe {recipe!r}; known: {sorted(RECIPES)}")
    rec: MicroRecipe = RECIPES[recipe]
    out = check_model_path(out)
    if loso_summary is not None:
        check_loso_summary(loso_summary, model)
    calibration = None
    if predictions_csv is not None:
        calibration = temperature_from_predictions(
            predictions_csv, model, tuple(data.classes), len(seeds) > 1
        )
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic as the LOSO folds
    try:
        nets = [train_model(model, data.flow, data.labels, rec, s) for s in seeds]
        net = nets[0] if len(nets) == 1 else SeedEnsemble(nets).eval()
    finally:
        torch.set_num_threads(old)
    import dataclasses

    jpath = out.with_suffix(".json")
    onnx_tmp = out.with_name(out.name + ".partial")
    json_tmp = jpath.with_name(jpath.name + ".tmp")

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
    if calibration is not None:
        meta.update(calibration)
    if loso_summary is not None:
        keys = ("uf1", "uf1_std", "uar", "uar_std", "seeds", "recipe", "n", "folds", "per_dataset")
        meta["loso"] = {k: loso_summary[k] for k in keys if k in loso_summary}
    try:
        export_micro_onnx(net, onnx_tmp)
        blob = onnx_tmp.read_bytes()
        meta.update(onnx_sha256=hashlib.sha256(blob).hexdigest(), onnx_bytes=len(blob))
        json_tmp.write_text(json.dumps(meta, indent=2))
        os.replace(onnx_tmp, out)
        os.replace(json_tmp, jpath)
    except BaseException:
        stray = onnx_tmp.with_name(onnx_tmp.name + ".tmp")  # export_micro_onnx's own temporary file
        for tmp in (onnx_tmp, stray, json_tmp):
            tmp.unlink(missing_ok=True)
        raise
    return meta
