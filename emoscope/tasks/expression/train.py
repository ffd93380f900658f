"""Training of the expression networks (PyTorch).

One network, one head per label set: ``fer2013`` (7 classes, hard labels) and ``ferplus`` (8 emotions, trained
with cross-entropy to the annotators' vote distribution). With ``labels="both"`` every FER2013 training image is
matched to its FER+ twin (same picture, see :func:`emoscope.datasets.match_images`) and both heads learn from it.

Model selection uses only the validation splits (FER2013 PublicTest, FER+ Valid); the test splits are never read
here.
"""

from __future__ import annotations

import csv
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

from emoscope.datasets import FaceSet, load_fer2013, load_ferplus, match_images, vote_distribution
from emoscope.errors import DatasetError, EmoscopeError, InputError
from emoscope.models import create_model, get_config
from emoscope.tasks.expression.augment import augment_batch


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved beside its checkpoints as ``config.json``)."""

    out: str
    model: str = "expr_resnet_cbam"
    labels: str = "both"  # fer2013 | ferplus | both
    fer2013: str | None = None  # FER2013 folder or fer2013.csv
    ferplus: str | None = None  # FER+ root folder
    epochs: int = 40
    batch_size: int = 128
    lr: float = 0.1
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    balance: str = "sqrt"  # class weights for the hard-label head: none | sqrt | inverse
    ema: float = 0.999  # weight EMA decay (0 = off); the EMA weights are the ones validated and saved
    amp: str = "auto"  # bf16 autocast: auto | bf16 | none
    device: str = "auto"
    threads: int = 0  # torch CPU threads (0 = torch default)
    seed: int = 0
    limit: int = 0  # use only the first N training images (smoke tests)
    init: str | None = None  # warm start: weights of a best.pt (new optimizer and schedule; a "second cycle")
    warmup: float = 0.15  # fraction of the one-cycle schedule spent raising the learning rate
    extra: dict[str, Any] = field(default_factory=dict)


# a folder holding any of these holds a training run
RUN_FILES = ("best.pt", "last.pt", "log.jsonl", "log.csv")
BEST_KEYS = ("model_name", "heads", "state_dict", "epoch", "config")  # what a best.pt holds
LAST_KEYS = ("model", "optimizer", "scheduler", "epoch", "best")  # what a last.pt holds


def brief_reason(e: BaseException) -> str:
    """``"Type: first sentence of the message"`` of an exception (some torch messages run to a paragraph)."""
    first = (str(e).strip().splitlines() or [""])[0].split(". ")[0]
    return f"{type(e).__name__}: {first[:160]}"


def check_run_folder(out: str | Path, resume: bool = False, overwrite: bool = False, files: tuple[str, ...] = RUN_FILES,
                     hint: str = "continue it with --resume, or choose another --out") -> list[Path]:  # fmt: skip
    """The run files already in ``out``; an :class:`EmoscopeError` when there are some and neither ``resume`` nor
    ``overwrite`` allows using the folder (a new run never mixes its checkpoints and logs with an earlier one's)."""
    found = [Path(out) / f for f in files if (Path(out) / f).exists()]
    if found and not (resume or overwrite):
        raise EmoscopeError(
            f"{out}: already holds a training run ({', '.join(f.name for f in found)}); {hint}"
        )
    return found


def check_expression_model(name: str) -> Any:
    """The registered configuration of the expression network ``name``; an :class:`EmoscopeError` naming
    ``--model`` when it is unknown or not an expression network (e.g. a ``micro_*`` model)."""
    try:
        cfg = get_config(name)
    except KeyError as e:
        raise EmoscopeError(f"--model: {e.args[0]}") from e
    heads = getattr(cfg, "heads", None)
    if not isinstance(heads, dict) or not {"fer2013", "ferplus"} <= set(heads) or not hasattr(cfg, "widths"):
        from emoscope.models import list_models

        names = [n for n in list_models() if n.startswith("expr_")]
        raise EmoscopeError(f"--model: {name!r} is not an expression network; use one of {names}")
    return cfg


def read_checkpoint(path: str | Path, keys: tuple[str, ...] = BEST_KEYS,
                    what: str = "a best.pt written by 'emoscope train expression'") -> dict[str, Any]:  # fmt: skip
    """``torch.load`` a checkpoint on the CPU; a missing, unreadable or foreign file (no ``keys``) is an
    :class:`InputError` naming the file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "checkpoint not found" if not p.exists() else "is not a file")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - pickle, zip and torch errors alike: the file is not a checkpoint
        why = brief_reason(e)
        raise InputError(p, f"not a readable checkpoint, expected {what} ({why})") from e
    missing = [k for k in keys if k not in ck] if isinstance(ck, dict) else list(keys)
    if missing:
        raise InputError(p, f"not {what} (it lacks {', '.join(missing)})")
    return ck


def checkpoint_model(ck: dict[str, Any], path: str | Path) -> torch.nn.Module:
    """Rebuild the network of a ``best.pt`` read by :func:`read_checkpoint` (eval mode, on the CPU)."""
    try:
        model = create_model(ck["model_name"], heads={k: tuple(v) for k, v in ck["heads"].items()})
        model.load_state_dict(network_state(ck))
    except Exception as e:  # noqa: BLE001 - unknown architecture, wrong shapes ...: the checkpoint does not fit
        why = brief_reason(e)
        raise InputError(path, f"its weights do not fit a {ck['model_name']!r} network ({why})") from e
    return model.eval()


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _class_weights(labels: np.ndarray, n: int, mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    if mode not in ("sqrt", "inverse"):
        raise ValueError(f"balance must be none, sqrt or inverse, not {mode!r}")
    counts = np.bincount(labels[labels >= 0], minlength=n).astype(np.float64).clip(1)
    w = (counts.sum() / counts) ** (0.5 if mode == "sqrt" else 1.0)
    return torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)


def load_training_data(cfg: TrainConfig) -> tuple[dict[str, np.ndarray], dict[str, FaceSet]]:
    """Returns the training arrays (``images``, ``y_fer2013``, ``q_ferplus``, ``m_ferplus``) and validation sets."""
    val: dict[str, FaceSet] = {}
    if cfg.labels in ("fer2013", "both"):
        if not cfg.fer2013:
            raise DatasetError("--labels fer2013/both needs the FER2013 data path")
        base = load_fer2013(cfg.fer2013, "train")
        val["fer2013"] = load_fer2013(cfg.fer2013, "val")
        images, y = base.images, base.labels
        q = np.zeros((len(images), 8), np.float32)
        m = np.zeros(len(images), bool)
        if cfg.labels == "both":
            if not cfg.ferplus:
                raise DatasetError("--labels both needs the FER+ data path (--ferplus-data)")
            fp = load_ferplus(cfg.ferplus, "train")
            val["ferplus"] = load_ferplus(cfg.ferplus, "val")
            idx = match_images(images, fp.images)
            ok = idx >= 0
            q[ok] = vote_distribution(fp.votes)[idx[ok]]
            m[ok] = fp.labels[idx[ok]] >= 0
            print(
                f"matched {ok.sum()}/{len(images)} FER2013 training images to FER+ ({m.sum()} with emotion votes)"
            )
    elif cfg.labels == "ferplus":
        if not cfg.ferplus:
            raise DatasetError("--labels ferplus needs the FER+ data path")
        fp = load_ferplus(cfg.ferplus, "train")
        val["ferplus"] = load_ferplus(cfg.ferplus, "val")
        images, y = fp.images, np.full(len(fp), -1, np.int64)
        q, m = vote_distribution(fp.votes), fp.labels >= 0
    else:
        raise ValueError(f"labels must be fer2013, ferplus or both, not {cfg.labels!r}")
    arrays = {"images": images, "y_fer2013": y, "q_ferplus": q, "m_ferplus": m}
    if cfg.limit:  # a seeded random subset (the loaders return images sorted by class)
        rng = np.random.default_rng(cfg.seed)
        pick = np.sort(rng.permutation(len(images))[: cfg.limit])
        arrays = {k: v[pick] for k, v in arrays.items()}
        val = {
            k: v.subset(np.sort(rng.permutation(len(v))[: max(cfg.limit // 4, 16)])) for k, v in val.items()
        }
    return arrays, val


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module, images: np.ndarray, device: torch.device, batch: int = 512
) -> dict[str, np.ndarray]:
    """Run a PyTorch expression model on ``(N, 48, 48)`` uint8 images -> ``{head: (N, K) logits}``."""
    model.eval()
    outs: dict[str, list[np.ndarray]] = {}
    for s in range(0, len(images), batch):
        x = torch.from_numpy(images[s : s + batch]).float().unsqueeze(1).to(device)
        for k, v in model(x).items():
            outs.setdefault(k, []).append(v.float().cpu().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def _validate(model: torch.nn.Module, val: dict[str, FaceSet], device: torch.device) -> dict[str, float]:
    res = {}
    for head, fs in val.items():
        logits = predict_logits(model, fs.images, device)[head]
        keep = fs.labels >= 0
        res[f"val_{head}_acc"] = float((logits.argmax(1)[keep] == fs.labels[keep]).mean())
        lp = torch.log_softmax(torch.from_numpy(logits[keep]), 1)
        res[f"val_{head}_nll"] = float(F.nll_loss(lp, torch.from_numpy(fs.labels[keep])))
    res["val_score"] = float(np.mean([res[f"val_{h}_acc"] for h in val]))
    return res


def train(cfg: TrainConfig, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Train; writes ``config.json``, ``last.pt`` (every epoch, for ``resume``), ``best.pt`` (best validation
    score), ``log.jsonl`` and ``log.csv`` into ``cfg.out``. Returns the best epoch's log row.

    The data, the model and (with ``resume``) ``last.pt`` are checked before anything is written. An ``out``
    that already holds a run is refused unless ``resume`` (continue it from its ``last.pt``) or ``overwrite``
    (delete its checkpoints and logs, once the new run is ready to start) is given."""
    from tqdm import tqdm

    out = Path(cfg.out)
    check_run_folder(out, resume=resume, overwrite=overwrite)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    use_bf16 = cfg.amp == "bf16" or (
        cfg.amp == "auto"
        and (device.type == "cuda" or torch.backends.mkldnn.is_available() and _cpu_has_bf16())
    )
    torch.manual_seed(cfg.seed)
    heads = dict(check_expression_model(cfg.model).heads)
    arrays, val = load_training_data(cfg)  # before anything is written: bad data leaves no run folder behind
    if cfg.labels == "fer2013":
        heads = {"fer2013": heads["fer2013"]}
    elif cfg.labels == "ferplus":
        heads = {"ferplus": heads["ferplus"]}
    model = create_model(cfg.model, heads=heads)
    if cfg.init:
        _load_init(model, cfg.init, cfg.model)
    model = model.to(device).to(memory_format=torch.channels_last)
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, momentum=0.9, nesterov=True,
    )  # fmt: skip
    n = len(arrays["images"])
    steps = math.ceil(n / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps, pct_start=cfg.warmup
    )
    ema = None
    if cfg.ema > 0:
        ema = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True
        )
    cw = _class_weights(arrays["y_fer2013"], 7, cfg.balance)
    cw = cw.to(device) if cw is not None else None
    start_epoch, best = 0, {"val_score": -1.0}
    if resume and (out / "last.pt").exists():
        start_epoch, best = _resume(out, cfg, heads, model, opt, sched, ema)
        print(f"resumed from {out / 'last.pt'} at epoch {start_epoch}")
    elif resume and not overwrite and check_run_folder(out, resume=True):
        raise EmoscopeError(f"{out}: --resume needs {out / 'last.pt'}, which is missing (the folder holds "
                            "another run's files; choose another --out)")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    if overwrite and start_epoch == 0:  # the earlier run's files go only once the new run is ready to start
        for f in (*RUN_FILES, "config.json"):
            (out / f).unlink(missing_ok=True)
    (out / "config.json").write_text(json.dumps({**asdict(cfg), "heads": {k: list(v) for k, v in heads.items()},
                                                 "command": " ".join(sys.argv), "torch": torch.__version__,
                                                 "python": platform.python_version()}, indent=2))  # fmt: skip
    images_t = torch.from_numpy(arrays["images"])
    y_t = torch.from_numpy(arrays["y_fer2013"])
    q_t = torch.from_numpy(arrays["q_ferplus"])
    m_t = torch.from_numpy(arrays["m_ferplus"])
    log_fields = None
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        perm = torch.from_numpy(np.random.default_rng(cfg.seed * 100_003 + epoch).permutation(n))
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        # dropout: per-epoch seed, so resume == uninterrupted run
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        t0, tot, cnt = time.time(), 0.0, 0
        bar = tqdm(
            range(steps),
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            leave=False,
            mininterval=2.0,
            file=sys.stderr,
        )
        for b in bar:
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            x = (
                augment_batch(images_t[idx].float().unsqueeze(1), gen)
                .to(device)
                .contiguous(memory_format=torch.channels_last)
            )
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                outs = model(x)
            loss = torch.zeros((), device=device)
            if "fer2013" in outs:
                yb = y_t[idx].to(device)
                ok = yb >= 0
                if ok.any():
                    loss = loss + F.cross_entropy(outs["fer2013"].float()[ok], yb[ok], weight=cw,
                                                  label_smoothing=cfg.label_smoothing)  # fmt: skip
            if "ferplus" in outs:
                mb = m_t[idx].to(device)
                if mb.any():
                    qb = q_t[idx].to(device)[mb]
                    qb = qb * (1 - cfg.label_smoothing) + cfg.label_smoothing / qb.shape[1]
                    loss = loss - (qb * torch.log_softmax(outs["ferplus"].float()[mb], 1)).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(model)
            tot += loss.item() * len(idx)
            cnt += len(idx)
            bar.set_postfix(loss=f"{tot / cnt:.3f}", img_s=f"{cnt / (time.time() - t0):.0f}")
        bar.close()
        eval_model = ema.module if ema is not None else model
        row = {"epoch": epoch + 1, "train_loss": tot / max(cnt, 1), "lr": sched.get_last_lr()[0],
               "seconds": round(time.time() - t0, 1), **_validate(eval_model, val, device)}  # fmt: skip
        is_best = row["val_score"] > best["val_score"]
        if is_best:
            best = row
            _atomic_save({"model_name": cfg.model, "heads": heads, "state_dict": eval_model.state_dict(),
                          "epoch": epoch + 1, "val": row, "config": asdict(cfg)}, out / "best.pt")  # fmt: skip
        _atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                      "ema": ema.state_dict() if ema is not None else None, "epoch": epoch, "best": best,
                      "model_name": cfg.model, "heads": heads}, out / "last.pt")  # fmt: skip
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        new_csv = not (out / "log.csv").exists()
        with open(out / "log.csv", "a", newline="") as f:
            log_fields = log_fields or list(row)
            w = csv.DictWriter(f, fieldnames=log_fields)
            if new_csv:
                w.writeheader()
            w.writerow(row)
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
              + (" *" if is_best else ""), flush=True)  # fmt: skip
        if cfg.extra.get("stop_after") and epoch + 1 >= cfg.extra["stop_after"]:
            break  # simulated interruption (tests of resume)
    return best


def _resume(out: Path, cfg: TrainConfig, heads: dict[str, Any], model: torch.nn.Module,
            opt: torch.optim.Optimizer, sched: Any, ema: Any) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """Load ``out/last.pt`` into the model, optimizer, schedule and EMA; returns (next epoch, best row so far).
    A corrupt file or one of another architecture / label set is an :class:`InputError` naming it."""
    path = out / "last.pt"
    ck = read_checkpoint(path, LAST_KEYS, "a last.pt written by 'emoscope train expression'")
    started = ck.get("model_name")
    if started is None:  # a last.pt from before model_name was saved in it: the run's config.json tells
        try:
            started = json.loads((out / "config.json").read_text()).get("model")
        except (OSError, ValueError, AttributeError):
            started = None
    if started is not None and started != cfg.model:
        raise InputError(path, f"the run was started with --model {started}, not {cfg.model}: resume it with "
                               f"--model {started}, or train {cfg.model} into another --out")  # fmt: skip
    saved_heads = ck.get("heads")
    if saved_heads is not None and set(saved_heads) != set(heads):
        raise InputError(path, f"the run trained the heads {sorted(saved_heads)}, not {sorted(heads)}: resume it "
                               "with the same --labels")  # fmt: skip
    try:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        if ema is not None and ck.get("ema") is not None:
            ema.load_state_dict(ck["ema"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        why = brief_reason(e)
        raise InputError(path, f"does not fit this run's --model {cfg.model} / --labels {cfg.labels} / --ema "
                               f"({why})") from e  # fmt: skip
    return ck["epoch"] + 1, ck["best"]


def _load_init(model: torch.nn.Module, path: str, name: str) -> None:
    """Start from the weights of a ``best.pt`` of the same architecture (the EMA weights it holds)."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: --init checkpoint not found")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=False)
        state = network_state(ck)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise DatasetError(f"{p}: not a checkpoint written by 'emoscope train expression' ({e})") from e
    if ck.get("model_name") != name:
        raise DatasetError(f"{p}: holds a {ck.get('model_name')!r} network, not {name!r}")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise DatasetError(f"{p}: weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    print(f"initialised from {p} (epoch {ck.get('epoch')}, val {ck.get('val', {}).get('val_score')})")


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else the CPU; any other name (``cpu``, ``cuda:1``) as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def network_state(ck: dict[str, Any]) -> dict[str, Any]:
    """The network weights of a ``best.pt`` (its EMA wrapper's ``module.`` prefix and counter removed)."""
    return {k.removeprefix("module."): v for k, v in ck["state_dict"].items() if k != "n_averaged"}


def load_checkpoint(path: str | Path, device: str = "cpu") -> torch.nn.Module:
    """Rebuild the model saved in a ``best.pt`` checkpoint (eval mode); a file that is not one is an
    :class:`InputError` naming it."""
    return checkpoint_model(read_checkpoint(path), path).to(device)
