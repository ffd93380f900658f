"""Training and ONNX export of the valence / arousal regression network (PyTorch).

The network is a registered expression trunk (:mod:`emoscope.models`, default ``expr_resnet_cbam``) with one
linear head ``va`` of 2 outputs squashed by tanh to [-1, 1]. It trains on AffectNet-format data
(:func:`emoscope.datasets.affectnet.load_affectnet`) with ``MSE + (1 - mean CCC)`` over the batch (CCC-based losses
are standard for valence / arousal, e.g. Kossaifi et al. 2017; MSE keeps small batches stable), AdamW and a one-cycle
schedule, the expression models' batch augmentation (flips do not change valence / arousal). The epoch with the best
mean validation CCC is kept. Optionally the trunk starts from an expression checkpoint (``init``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from emoscope.datasets.affectnet import AffectSet, load_affectnet
from emoscope.errors import EmoscopeError, InputError
from emoscope.models import create_model
from emoscope.tasks.affect.va import va_report
from emoscope.tasks.expression.augment import augment_batch
from emoscope.tasks.expression.train import (
    brief_reason,
    check_run_folder,
    network_state,
    read_checkpoint,
    resolve_device,
)

VA_HEADS = {"va": ("valence", "arousal")}
VA_RUN_FILES = ("best.pt", "last.pt", "log.jsonl")  # a folder holding any of these holds a VA training run


@dataclass
class VATrainConfig:
    """Everything that defines a valence / arousal training run (saved as ``config.json`` in ``out``).

    train_csv / val_csv: AffectNet-format CSVs; images / val_images: their image roots (default: each CSV's folder;
    ``val_images`` defaults to ``images``). widths: override of the trunk widths (small smoke-test models).
    init: an expression checkpoint (``best.pt``) whose trunk initialises the network. limit: use a seeded random
    subset of N training rows (and N // 4 validation rows).
    """

    out: str
    train_csv: str
    val_csv: str
    images: str | None = None
    val_images: str | None = None
    model: str = "expr_resnet_cbam"
    widths: list[int] | None = None
    init: str | None = None
    epochs: int = 20
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ccc_weight: float = 1.0
    augment: bool = True
    device: str = "auto"
    threads: int = 0
    seed: int = 0
    limit: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def build_va_model(
    model: str = "expr_resnet_cbam", widths: list[int] | tuple[int, ...] | None = None
) -> torch.nn.Module:
    """A registered expression trunk with the 2-output ``va`` head (raw outputs; tanh is applied outside)."""
    overrides: dict[str, Any] = {"heads": dict(VA_HEADS)}
    if widths:
        overrides["widths"] = tuple(int(w) for w in widths)
    return create_model(model, **overrides)


def ccc_loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``1 - mean CCC`` over the columns of ``(N, D)`` predictions and targets (batch moments)."""
    mp, my = pred.mean(0), y.mean(0)
    vp, vy = pred.var(0, unbiased=False), y.var(0, unbiased=False)
    cov = ((pred - mp) * (y - my)).mean(0)
    return 1 - (2 * cov / (vp + vy + (mp - my) ** 2 + 1e-8)).mean()


@torch.no_grad()
def predict_va(
    model: torch.nn.Module, images: np.ndarray, device: torch.device, batch: int = 512
) -> np.ndarray:
    """``(N, 48, 48)`` uint8 faces -> ``(N, 2)`` float32 (valence, arousal) in [-1, 1] with a PyTorch VA model."""
    model.eval()
    outs = []
    for s in range(0, len(images), batch):
        x = torch.from_numpy(images[s : s + batch]).float().unsqueeze(1).to(device)
        outs.append(torch.tanh(model(x)["va"].float()).cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 2), np.float32)


def _init_from(model: torch.nn.Module, checkpoint: str | Path) -> None:
    ck = read_checkpoint(checkpoint, ("state_dict",), "an expression best.pt (--init)")
    state = {k: v for k, v in network_state(ck).items() if not k.startswith("heads.")}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # same names, other shapes
        raise InputError(checkpoint, f"trunk does not match ({brief_reason(e)})") from e
    if unexpected or any(not k.startswith("heads.") for k in missing):
        raise InputError(
            checkpoint, f"trunk does not match (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_va_data(cfg: VATrainConfig) -> tuple[AffectSet, AffectSet]:
    """Training and validation sets of a config (``limit`` applied)."""
    train = load_affectnet(cfg.train_csv, cfg.images, limit=cfg.limit, seed=cfg.seed)
    val = load_affectnet(cfg.val_csv, cfg.val_images or cfg.images, limit=max(cfg.limit // 4, 16) if cfg.limit else 0,
                         seed=cfg.seed)  # fmt: skip
    return train, val


def train_va(cfg: VATrainConfig, overwrite: bool = False) -> dict[str, Any]:
    """Train; writes ``config.json``, ``best.pt`` (best mean validation CCC), ``last.pt``, ``log.jsonl`` into
    ``cfg.out``. Returns the best epoch's log row (``val_valence_ccc``, ``val_arousal_ccc``, ``val_mean_ccc``,
    ``val_valence_rmse``, ``val_arousal_rmse``, ...).

    The data and the model are checked before anything is written. An ``out`` that already holds a run is refused
    unless ``overwrite`` (its checkpoints and log are deleted once the new run is ready to start)."""
    out = Path(cfg.out)
    check_run_folder(
        out, overwrite=overwrite, files=VA_RUN_FILES, hint="choose another --out, or pass --overwrite"
    )
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    try:
        model = build_va_model(cfg.model, cfg.widths)
    except KeyError as e:
        raise EmoscopeError(f"--model: {e.args[0]}") from e
    train, val = load_va_data(cfg)  # before anything is written: bad data leaves no run folder behind
    if cfg.init:
        _init_from(model, cfg.init)
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(train)
    steps = math.ceil(n / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps, pct_start=0.2
    )
    out.mkdir(parents=True, exist_ok=True)
    for f in (*VA_RUN_FILES, "config.json"):  # only an earlier run's, with overwrite (checked above)
        (out / f).unlink(missing_ok=True)
    (out / "config.json").write_text(json.dumps({**asdict(cfg), "n_train": n, "n_val": len(val),
                                                 "command": " ".join(sys.argv), "torch": torch.__version__,
                                                 "python": platform.python_version()}, indent=2))  # fmt: skip
    images_t = torch.from_numpy(train.images)
    y_t = torch.from_numpy(train.va.astype(np.float32))
    best: dict[str, Any] = {"val_mean_ccc": -2.0}
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.from_numpy(np.random.default_rng(cfg.seed * 100_003 + epoch).permutation(n))
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        t0, tot, cnt = time.time(), 0.0, 0
        for b in range(steps):
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            if len(idx) < 2:  # CCC needs a spread
                continue
            x = images_t[idx].float().unsqueeze(1)
            if cfg.augment:
                x = augment_batch(x, gen)
            yb = y_t[idx].to(device)
            pred = torch.tanh(model(x.to(device))["va"].float())
            loss = F.mse_loss(pred, yb) + cfg.ccc_weight * ccc_loss(pred, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            cnt += len(idx)
        rep = va_report(val.va, predict_va(model, val.images, device))
        row = {"epoch": epoch + 1, "train_loss": tot / max(cnt, 1), "lr": sched.get_last_lr()[0],
               "seconds": round(time.time() - t0, 1), "val_mean_ccc": rep["mean_ccc"],
               **{f"val_{d}_{m}": rep[d][m] for d in ("valence", "arousal") for m in ("ccc", "rmse")}}  # fmt: skip
        is_best = row["val_mean_ccc"] > best["val_mean_ccc"]
        if is_best:
            best = row
            _atomic_save({"task": "va", "model_name": cfg.model, "widths": cfg.widths, "heads": VA_HEADS,
                          "state_dict": model.state_dict(), "epoch": epoch + 1, "val": row, "config": asdict(cfg)},
                         out / "best.pt")  # fmt: skip
        _atomic_save(
            {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}, out / "last.pt"
        )
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
              + (" *" if is_best else ""), flush=True)  # fmt: skip
    return best


def load_va_checkpoint(path: str | Path) -> torch.nn.Module:
    """Rebuild the VA network of a ``best.pt`` written by :func:`train_va` (eval mode); a file that is not one is
    an :class:`InputError` naming it."""
    return _va_model(_read_va_checkpoint(path), path)


def _read_va_checkpoint(path: str | Path) -> dict[str, Any]:
    ck = read_checkpoint(
        path, ("model_name", "state_dict", "epoch"), "a best.pt written by 'emoscope train va'"
    )
    if ck.get("task") != "va":
        raise InputError(path, "not a valence/arousal checkpoint (written by 'emoscope train va')")
    return ck


def _va_model(ck: dict[str, Any], path: str | Path) -> torch.nn.Module:
    try:
        model = build_va_model(ck["model_name"], ck.get("widths"))
        model.load_state_dict(ck["state_dict"])
    except Exception as e:  # noqa: BLE001 - unknown architecture, wrong shapes ...: the checkpoint does not fit
        why = brief_reason(e)
        raise InputError(path, f"its weights do not fit a {ck['model_name']!r} network ({why})") from e
    return model.eval()


class _VAOutput(torch.nn.Module):
    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.model(x)["va"])


def export_va(checkpoint: str | Path, out: str | Path, opset: int = 17) -> dict[str, Any]:
    """``best.pt`` -> ``out`` (.onnx; input ``pixels`` ``(N, 1, 48, 48)``, output ``va`` ``(N, 2)`` in [-1, 1]) and
    its metadata ``.json`` beside it; the ONNX graph is checked against PyTorch. Returns the metadata.
    The checkpoint is read before anything is written; both files are written to temporaries beside ``out`` and
    renamed at the end (the .json last); a failure removes the temporaries and leaves ``out`` as it was."""
    ck = _read_va_checkpoint(checkpoint)
    model = _va_model(ck, checkpoint)
    out = Path(out)
    if out.is_dir():
        raise InputError(out, "is a folder; the output must be an .onnx file path")
    from emoscope.outputs.files import check_model_pair_out

    check_model_pair_out(out, [checkpoint])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    meta_path = out.with_suffix(".json")
    tmp_meta = meta_path.with_name(meta_path.name + ".tmp")
    try:
        meta = _write_va_onnx(model, ck, tmp, opset)
        tmp_meta.write_text(json.dumps(meta, indent=2))
        os.replace(tmp, out)
        os.replace(tmp_meta, meta_path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)
    return meta


def _write_va_onnx(model: torch.nn.Module, ck: dict[str, Any], path: Path, opset: int) -> dict[str, Any]:
    """Export ``model`` to ``path``, check it against PyTorch; returns its metadata."""
    import onnxruntime as ort

    size = model.config.input_size
    torch.onnx.export(_VAOutput(model), torch.rand(2, 1, size, size) * 255, str(path), input_names=["pixels"],
                      output_names=["va"], opset_version=opset,
                      dynamic_axes={"pixels": {0: "batch"}, "va": {0: "batch"}}, dynamo=False)  # fmt: skip
    x = (torch.rand(8, size, size) * 255).to(torch.uint8).numpy()
    ref = predict_va(model, x, torch.device("cpu"))
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"pixels": x[:, None].astype(np.float32)}
    )[0]
    if float(np.abs(ref - got).max()) > 1e-3:
        raise RuntimeError(
            f"ONNX export of the VA model differs from PyTorch by {float(np.abs(ref - got).max())}"
        )
    return {
        "format": 1,
        "task": "va",
        "model_name": ck["model_name"],
        "widths": ck.get("widths"),
        "input": "pixels",
        "input_size": size,
        "input_description": "(N, 1, 48, 48) float32 grey pixel values 0..255 of an aligned face crop",
        "output": "va",
        "outputs": ["valence", "arousal"],
        "range": [-1.0, 1.0],
        "trained_epoch": ck["epoch"],
        "val": ck.get("val"),
        "train_config": ck.get("config"),
        "onnx_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "onnx_bytes": path.stat().st_size,
    }
