"""Leave-One-Subject-Out (LOSO) evaluation of micro-expression networks on the MEGC2019 composite.

For each of the 68 subjects, a network is trained from scratch on the other subjects' samples with a FIXED recipe
(:class:`MicroRecipe`: optimiser, learning-rate schedule, epoch count, augmentation, class weights), then
predicts the held-out subject's samples once, after the last epoch. Nothing is chosen by looking at the
held-out subject: no epoch, threshold or model selection (the recipe has no selection step at all). The
predictions of all folds are pooled and scored with UF1 (mean per-class F1) and UAR (mean per-class recall), on
the composite and on each source set (CASME II, SAMM, SMIC), as in MEGC2019.

Reproducible: fold ``i`` of seed ``s`` seeds torch and its augmentation generator with ``fold_seed(s, i)`` and
trains on one CPU thread, so the same seed gives identical numbers whether the folds run one after another or
in parallel processes (``jobs``), and a ``limit_folds`` smoke run reproduces those folds of the full run.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from emoscope.datasets.megc2019 import SOURCES, MicroSet
from emoscope.errors import EmoscopeError
from emoscope.evaluation.metrics import uf1_uar
from emoscope.models import create_model, list_models
from emoscope.tasks.micro.augment import augment_flow


@dataclass(frozen=True)
class MicroRecipe:
    """How each fold's network is trained. Fixed before any fold is run; never tuned on a held-out subject.

    optimizer: ``adamw`` or ``adam``; lr: peak learning rate; schedule: ``cosine`` (linear warm-up over
    ``warmup_epochs``, then cosine decay to 0 at the last step) or ``constant``.
    batch_size: samples per step (0 = the whole training fold in one batch).
    balance: class weights of the loss: ``inverse`` (inverse class frequency), ``sqrt`` or ``none``.
    flip: mirror half of the samples (negating u); max_shift: random translation, in pixels of the 28 px flow;
    rotate / scale: random rotation (degrees) and scaling (fraction) of the flow images.
    mixup: Beta(mixup, mixup) mixing of pairs of samples and their labels (0 = off).
    shuffle: reshuffle the training samples every epoch (else keep the dataset order).
    """

    epochs: int = 60
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-2
    schedule: str = "cosine"
    warmup_epochs: int = 3
    balance: str = "inverse"
    label_smoothing: float = 0.1
    flip: bool = True
    max_shift: int = 2
    rotate: float = 0.0
    scale: float = 0.0
    mixup: float = 0.0
    shuffle: bool = True


#: Named recipes. ``default``: ours, for every model (the ablation compares models under one recipe).
#: ``augmented``: ``default`` + random rotation (±8°) and scaling (±8 %) of the flow images and mixup (Beta 0.2);
#: ``warp``: ``default`` + the rotation and scaling only; ``mixup``: ``default`` + mixup only.
#: ``ststnet_code``: the STSTNet authors' PyTorch training (Adam 5e-5, batch 256 in dataset order, plain
#: cross-entropy, no augmentation, 500 epochs, last epoch kept).
RECIPES: dict[str, MicroRecipe] = {
    "default": MicroRecipe(),
    "augmented": MicroRecipe(rotate=8.0, scale=0.08, mixup=0.2),
    "warp": MicroRecipe(rotate=8.0, scale=0.08),
    "mixup": MicroRecipe(mixup=0.2),
    "ststnet_code": MicroRecipe(
        epochs=500, batch_size=256, optimizer="adam", lr=5e-5, weight_decay=0.0, schedule="constant",
        warmup_epochs=0, balance="none", label_smoothing=0.0, flip=False, max_shift=0, shuffle=False,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Fold:
    """One LOSO fold: ``test`` holds every sample of ``subject``, ``train`` every other sample (row indices)."""

    index: int
    subject: str
    train: np.ndarray
    test: np.ndarray


def loso_folds(subjects: Sequence[str] | np.ndarray) -> list[Fold]:
    """One fold per distinct subject, in sorted subject order. ``subjects``: ``(N,)`` subject id per sample."""
    subj = np.asarray(subjects, dtype=str)
    folds = []
    for i, s in enumerate(sorted(set(subj.tolist()))):
        m = subj == s
        folds.append(Fold(i, s, np.flatnonzero(~m), np.flatnonzero(m)))
    return folds


def pick_folds(n_folds: int, limit: int) -> list[int]:
    """Indices of ``limit`` folds spread evenly over ``0..n_folds-1`` (all folds when ``limit`` is 0 or >= n)."""
    if limit <= 0 or limit >= n_folds:
        return list(range(n_folds))
    return sorted({int(round(v)) for v in np.linspace(0, n_folds - 1, limit)})


def fold_seed(seed: int, fold_index: int) -> int:
    """The torch seed of one fold of one run."""
    return seed * 1_000_003 + fold_index


def class_weights(labels: np.ndarray, n_classes: int, mode: str) -> torch.Tensor | None:
    """Loss weights per class from the training labels, scaled so that the weighted sample mean is 1.

    mode: ``inverse`` (``N / n_c``), ``sqrt`` (its square root) or ``none`` (returns None).
    """
    if mode == "none":
        return None
    if mode not in ("inverse", "sqrt"):
        raise ValueError(f"balance must be none, sqrt or inverse, not {mode!r}")
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64).clip(1)
    w = (counts.sum() / counts) ** (0.5 if mode == "sqrt" else 1.0)
    return torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)


def _lr_factor(recipe: MicroRecipe, step: int, total: int, per_epoch: int) -> float:
    if recipe.schedule == "constant":
        return 1.0
    if recipe.schedule != "cosine":
        raise ValueError(f"schedule must be cosine or constant, not {recipe.schedule!r}")
    warm = recipe.warmup_epochs * per_epoch
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def train_model(
    model: str,
    flow: np.ndarray,
    labels: np.ndarray,
    recipe: MicroRecipe,
    seed: int,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> nn.Module:
    """Train a registered micro-expression network from scratch.

    flow: ``(N, 3, 28, 28)`` float32 in ``[0, 1]``; labels: ``(N,)`` int64. Returns the network after the last
    epoch, in eval mode. All randomness (initialisation, order, augmentation, dropout) comes from ``seed``.
    on_epoch: called with the epoch index (0-based) and the network after every epoch, for diagnostics; it may
    run the network in eval mode and must not train it (training resumes in train mode, unchanged).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    mix_rng = np.random.default_rng(seed)
    net = create_model(model)
    n_classes = len(net.config.classes)
    x_all = torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32))
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    loss_fn = nn.CrossEntropyLoss(
        weight=class_weights(labels, n_classes, recipe.balance), label_smoothing=recipe.label_smoothing
    )
    if recipe.optimizer == "adamw":
        opt: torch.optim.Optimizer = torch.optim.AdamW(
            net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay
        )
    elif recipe.optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    else:
        raise ValueError(f"optimizer must be adamw or adam, not {recipe.optimizer!r}")
    n = len(y_all)
    bs = recipe.batch_size if 0 < recipe.batch_size < n else n
    per_epoch = math.ceil(n / bs)
    total = recipe.epochs * per_epoch
    step = 0
    net.train()
    for epoch in range(recipe.epochs):
        order = torch.randperm(n, generator=gen) if recipe.shuffle else torch.arange(n)
        for s in range(0, n, bs):
            idx = order[s : s + bs]
            x = augment_flow(x_all[idx], gen, flip=recipe.flip, max_shift=recipe.max_shift,
                             rotate=recipe.rotate, scale=recipe.scale)  # fmt: skip
            for g in opt.param_groups:
                g["lr"] = recipe.lr * _lr_factor(recipe, step, total, per_epoch)
            opt.zero_grad(set_to_none=True)
            y = y_all[idx]
            if recipe.mixup > 0:
                lam = float(mix_rng.beta(recipe.mixup, recipe.mixup))
                other = torch.randperm(len(idx), generator=gen)
                out = net(lam * x + (1.0 - lam) * x[other])
                loss = lam * loss_fn(out, y) + (1.0 - lam) * loss_fn(out, y[other])
            else:
                loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            step += 1
        if on_epoch is not None:
            on_epoch(epoch, net)
            net.train()
    return net.eval()


@torch.no_grad()
def predict_proba(net: nn.Module, flow: np.ndarray) -> np.ndarray:
    """Class probabilities ``(N, K)`` float64 of a trained network for ``(N, 3, 28, 28)`` flow in ``[0, 1]``."""
    net.eval()
    x = torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32))
    return torch.softmax(net(x).double(), dim=1).numpy()


# ---------------------------------------------------------------------------------------------------- folds

_WORKER: dict[str, Any] = {}


def _init_worker(flow: np.ndarray, labels: np.ndarray) -> None:
    torch.set_num_threads(1)
    _WORKER["flow"], _WORKER["labels"] = flow, labels


def _run_task(
    task: tuple[Any, str, MicroRecipe, int, np.ndarray, np.ndarray],
) -> tuple[Any, np.ndarray, float]:
    """Train on rows ``train`` with torch seed ``torch_seed``, predict rows ``test``; ``key`` is passed back."""
    key, model, recipe, torch_seed, train, test = task
    t0 = time.perf_counter()
    flow, labels = _WORKER["flow"], _WORKER["labels"]
    net = train_model(model, flow[train], labels[train], recipe, torch_seed)
    return key, predict_proba(net, flow[test]), time.perf_counter() - t0


@dataclass
class LosoResult:
    """Pooled LOSO predictions of one model and seed.

    y_true: ``(M,)`` labels of the samples of the folds run (all N unless ``limit_folds`` was used);
    probs: ``(M, K)`` predicted probabilities, each from the fold that held the sample out;
    subjects / sources / names: ``(M,)`` str; fold_seconds: training + prediction time of each fold run.
    """

    model: str
    recipe: MicroRecipe
    recipe_name: str
    seed: int
    n_folds: int
    folds_run: list[int]
    y_true: np.ndarray
    probs: np.ndarray
    subjects: np.ndarray
    sources: np.ndarray
    names: np.ndarray
    classes: tuple[str, ...]
    fold_seconds: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    selection: dict[str, Any] = field(default_factory=dict)

    @property
    def y_pred(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    def report(self) -> dict[str, Any]:
        """UF1, UAR, accuracy, per-class F1 and recall, confusion matrix (rows = true), on the composite and
        per source set (``per_dataset``: ``{casme2: {uf1, uar, accuracy, n, confusion}, ...}``)."""
        k = len(self.classes)
        overall = uf1_uar(self.y_true, self.y_pred, k)
        per_dataset = {}
        for src in SOURCES:
            m = self.sources == src
            if m.any():
                r = uf1_uar(self.y_true[m], self.y_pred[m], k)
                per_dataset[src] = {key: r[key] for key in ("uf1", "uar", "accuracy", "n", "confusion")}
        return {
            "model": self.model,
            "recipe": self.recipe_name,
            "seed": self.seed,
            "n": overall["n"],
            "folds": len(self.folds_run),
            "folds_total": self.n_folds,
            "partial": len(self.folds_run) < self.n_folds,
            "uf1": overall["uf1"],
            "uar": overall["uar"],
            "accuracy": overall["accuracy"],
            "per_class_f1": _by_class(self.classes, overall["per_class_f1"]),
            "per_class_recall": _by_class(self.classes, overall["per_class_recall"]),
            "confusion": overall["confusion"],
            "per_dataset": per_dataset,
            **({"selection": self.selection} if self.selection else {}),
            "wall_s": round(self.wall_s, 2),
            "mean_fold_s": round(float(np.mean(list(self.fold_seconds.values()))), 3)
            if self.fold_seconds
            else 0.0,
        }

    def prediction_rows(self) -> list[dict[str, Any]]:
        """One row per sample: name, subject, source, true and predicted class, probabilities."""
        rows = []
        for i in range(len(self.y_true)):
            row = {"name": str(self.names[i]), "subject": str(self.subjects[i]), "source": str(self.sources[i]),
                   "seed": self.seed, "true": self.classes[self.y_true[i]], "pred": self.classes[self.y_pred[i]]}  # fmt: skip
            row.update(
                {f"p_{c}": round(float(p), 6) for c, p in zip(self.classes, self.probs[i], strict=True)}
            )
            rows.append(row)
        return rows


def _by_class(classes: Sequence[str], values: Sequence[float]) -> dict[str, float | None]:
    """Class name -> value, None for a class absent from the truth (NaN is not valid JSON)."""
    return {c: None if math.isnan(v) else v for c, v in zip(classes, values, strict=True)}


def check_micro_model(model: str) -> None:
    """Raise :class:`EmoscopeError` unless ``model`` is a registered micro-expression network."""
    micro = sorted(n for n in list_models() if n.startswith("micro_"))
    if model not in micro:
        raise EmoscopeError(f"unknown micro-expression model {model!r}; registered: {micro}")


def resolve_recipe(recipe: MicroRecipe | str) -> tuple[str, MicroRecipe]:
    """``(name, recipe)`` for a name in :data:`RECIPES` or a :class:`MicroRecipe` (named ``custom``)."""
    if not isinstance(recipe, str):
        return "custom", recipe
    if recipe not in RECIPES:
        raise EmoscopeError(f"unknown recipe {recipe!r}; known: {sorted(RECIPES)}")
    return recipe, RECIPES[recipe]


def run_loso(
    data: MicroSet,
    model: str = "micro_attn",
    recipe: MicroRecipe | str = "default",
    seed: int = 0,
    *,
    limit_folds: int = 0,
    jobs: int = 1,
    progress: Callable[[Fold, np.ndarray, float], None] | None = None,
) -> LosoResult:
    """Train and test ``model`` on every LOSO fold of ``data``; pool the held-out predictions.

    recipe: a :class:`MicroRecipe` or a name in :data:`RECIPES`. limit_folds: run only this many folds, spread
    evenly over the sorted subjects (smoke runs; the figures are then partial). jobs: folds trained at once in
    separate processes (one thread each; the numbers do not depend on it). progress: called after each fold
    with the fold, its ``(n_test, K)`` probabilities and its seconds.
    """
    check_micro_model(model)
    recipe_name, recipe = resolve_recipe(recipe)
    folds = loso_folds(data.subjects)
    chosen = [folds[i] for i in pick_folds(len(folds), limit_folds)]
    tasks = [(f.index, model, recipe, fold_seed(seed, f.index), f.train, f.test) for f in chosen]
    probs = np.full((len(data), len(data.classes)), np.nan)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()

    def collect(index: int, p: np.ndarray, sec: float) -> None:
        fold = folds[index]
        probs[fold.test] = p
        seconds[fold.subject] = round(sec, 3)
        if progress is not None:
            progress(fold, p, sec)

    for res in _map_tasks(data, tasks, jobs, _run_task):
        collect(*res)
    ran = np.sort(np.concatenate([f.test for f in chosen]))
    return LosoResult(
        model=model, recipe=recipe, recipe_name=recipe_name, seed=seed, n_folds=len(folds),
        folds_run=[f.index for f in chosen], y_true=data.labels[ran], probs=probs[ran], subjects=data.subjects[ran],
        sources=data.sources[ran], names=data.names[ran], classes=data.classes, fold_seconds=seconds,
        wall_s=time.perf_counter() - t0,
    )  # fmt: skip


def _map_tasks(data: MicroSet, tasks: list, jobs: int, fn: Callable[..., Any]) -> Any:
    """Yield ``fn(task)`` for every task, in order, in this process (``jobs`` <= 1) or in ``jobs`` processes."""
    if jobs <= 1:
        old_threads = torch.get_num_threads()
        try:
            _init_worker(data.flow, data.labels)
            for t in tasks:
                yield fn(t)
        finally:
            torch.set_num_threads(old_threads)
            _WORKER.clear()
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(
        max_workers=min(jobs, os.cpu_count() or 1, max(1, len(tasks))),
        mp_context=mp.get_context("spawn"),
        initializer=_init_worker,
        initargs=(data.flow, data.labels),
    ) as pool:
        yield from pool.map(fn, tasks)


# ------------------------------------------------------------------------------------- recipe selection


def inner_splits(subjects: np.ndarray, rows: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` subject-wise (train, validation) splits of ``rows`` (indices into ``subjects``): every subject's
    samples fall in one validation part (scikit-learn ``GroupKFold``, deterministic)."""
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(subjects)[rows]
    n_groups = len(set(groups.tolist()))
    if not 2 <= k <= n_groups:
        raise EmoscopeError(f"inner folds must be between 2 and the number of subjects ({n_groups}), not {k}")
    return [(rows[tr], rows[va]) for tr, va in GroupKFold(n_splits=k).split(rows, groups=groups)]


def _candidates(candidates: Sequence[str] | dict[str, MicroRecipe]) -> dict[str, MicroRecipe]:
    if isinstance(candidates, dict):
        out = dict(candidates)
    else:
        unknown = [c for c in candidates if c not in RECIPES]
        if unknown:
            raise EmoscopeError(f"unknown recipe(s) {unknown}; known: {sorted(RECIPES)}")
        out = {c: RECIPES[c] for c in candidates}
    if len(out) < 2:
        raise EmoscopeError(f"recipe selection needs two or more distinct candidate recipes, got {list(out)}")
    return out


def _pick(scores: dict[str, dict[str, float]]) -> str:
    """The candidate with the best inner UF1 (then UAR); ties go to the earlier candidate."""
    return max(scores, key=lambda n: (scores[n]["uf1"], scores[n]["uar"]))  # max keeps the first of equals


def _inner_seed(seed: int, split: int) -> int:
    # the same seed for every candidate on one split (a paired comparison); never equal to an outer fold's seed
    return fold_seed(seed, 100_000 + split)


def _inner_tasks(
    data: MicroSet, model: str, cands: dict[str, MicroRecipe], seed: int, outer: int, rows: np.ndarray, k: int
) -> list[tuple[Any, str, MicroRecipe, int, np.ndarray, np.ndarray]]:
    splits = inner_splits(data.subjects, rows, k)
    return [((outer, name, j), model, rec, _inner_seed(seed, j), tr, va)
            for name, rec in cands.items() for j, (tr, va) in enumerate(splits)]  # fmt: skip


def _inner_scores(data: MicroSet, cands: dict[str, MicroRecipe], rows: np.ndarray,
                  preds: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, float]]:  # fmt: skip
    k = len(data.classes)
    scores = {}
    for name in cands:
        parts = [v for (n, _), v in sorted(preds.items(), key=lambda kv: kv[0][1]) if n == name]
        idx = np.concatenate([p[0] for p in parts])
        pred = np.concatenate([p[1] for p in parts]).argmax(axis=1)
        r = uf1_uar(data.labels[idx], pred, k)
        scores[name] = {"uf1": round(float(r["uf1"]), 4), "uar": round(float(r["uar"]), 4)}
    if sum(len(p[0]) for (n, _), p in preds.items() if n == next(iter(cands))) != len(rows):
        raise RuntimeError("inner validation parts do not cover the training rows")
    return scores


def select_recipe(
    data: MicroSet,
    model: str,
    candidates: Sequence[str] | dict[str, MicroRecipe],
    seed: int = 0,
    *,
    inner_folds: int = 4,
    rows: np.ndarray | None = None,
    jobs: int = 1,
) -> tuple[str, dict[str, dict[str, float]]]:
    """Choose a training recipe by subject-wise cross-validation on ``rows`` (default: every sample).

    Each candidate is trained on ``inner_folds - 1`` parts of the subjects and predicts the remaining part, with
    the same seed for every candidate on a split; the held-out predictions are pooled per candidate and scored.
    Returns the chosen name (best UF1, then UAR; ties to the earlier candidate) and ``{name: {uf1, uar}}``.
    This is how the shipped network's recipe is chosen on the whole composite; :func:`run_loso_nested` runs the
    same selection inside every LOSO fold so that its cost in optimism is measured.
    """
    check_micro_model(model)
    cands = _candidates(candidates)
    rows = np.arange(len(data)) if rows is None else np.asarray(rows)
    tasks = _inner_tasks(data, model, cands, seed, 0, rows, inner_folds)
    preds = {(name, j): (tasks[i][5], p)
             for i, ((_, name, j), p, _) in enumerate(_map_tasks(data, tasks, jobs, _run_task))}  # fmt: skip
    scores = _inner_scores(data, cands, rows, preds)
    return _pick(scores), scores


def run_loso_nested(
    data: MicroSet,
    model: str,
    candidates: Sequence[str] | dict[str, MicroRecipe],
    seed: int = 0,
    *,
    inner_folds: int = 4,
    limit_folds: int = 0,
    jobs: int = 1,
    progress: Callable[[Fold, np.ndarray, float], None] | None = None,
    inner_progress: Callable[[int, int], None] | None = None,
) -> LosoResult:
    """LOSO with the recipe chosen inside every fold, never on the held-out subject (nested cross-validation).

    For each held-out subject, :func:`select_recipe` runs on the other subjects only (``inner_folds``
    subject-wise parts); the chosen candidate is then trained on all of them (with the fold's usual seed, so a
    fold that chooses recipe R reproduces fold of ``run_loso(..., R)`` exactly) and predicts the held-out
    subject. Costs ``len(candidates) * inner_folds + 1`` trainings per fold. The result's ``selection`` holds
    the candidates, how often each was chosen and every fold's inner scores. ``inner_progress(done, total)``
    is called as the inner trainings finish; ``progress`` as in :func:`run_loso`.
    """
    check_micro_model(model)
    cands = _candidates(candidates)
    folds = loso_folds(data.subjects)
    chosen_folds = [folds[i] for i in pick_folds(len(folds), limit_folds)]
    t0 = time.perf_counter()
    tasks = [
        t for f in chosen_folds for t in _inner_tasks(data, model, cands, seed, f.index, f.train, inner_folds)
    ]
    preds: dict[int, dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]] = {
        f.index: {} for f in chosen_folds
    }
    inner_sec = dict.fromkeys((f.subject for f in chosen_folds), 0.0)
    for i, ((outer, name, j), p, sec) in enumerate(_map_tasks(data, tasks, jobs, _run_task)):
        preds[outer][(name, j)] = (tasks[i][5], p)
        inner_sec[folds[outer].subject] += sec
        if inner_progress is not None:
            inner_progress(i + 1, len(tasks))
    per_fold: dict[str, Any] = {}
    outer_tasks = []
    for f in chosen_folds:
        scores = _inner_scores(data, cands, f.train, preds[f.index])
        pick = _pick(scores)
        per_fold[f.subject] = {"chosen": pick, "inner": scores}
        outer_tasks.append((f.index, model, cands[pick], fold_seed(seed, f.index), f.train, f.test))
    probs = np.full((len(data), len(data.classes)), np.nan)
    seconds: dict[str, float] = {}
    for index, p, sec in _map_tasks(data, outer_tasks, jobs, _run_task):
        fold = folds[index]
        probs[fold.test] = p
        seconds[fold.subject] = round(sec + inner_sec[fold.subject], 3)
        if progress is not None:
            progress(fold, p, sec)
    counts = {n: sum(v["chosen"] == n for v in per_fold.values()) for n in cands}
    ran = np.sort(np.concatenate([f.test for f in chosen_folds]))
    return LosoResult(
        model=model, recipe=cands[max(counts, key=lambda n: counts[n])],
        recipe_name=f"nested selection of {', '.join(cands)} ({inner_folds} inner folds)", seed=seed,
        n_folds=len(folds), folds_run=[f.index for f in chosen_folds], y_true=data.labels[ran], probs=probs[ran],
        subjects=data.subjects[ran], sources=data.sources[ran], names=data.names[ran], classes=data.classes,
        fold_seconds=seconds, wall_s=time.perf_counter() - t0,
        selection={"candidates": list(cands), "inner_folds": inner_folds, "chosen_counts": counts,
                   "per_fold": per_fold},
    )  # fmt: skip


def ensemble_runs(results: Sequence[LosoResult]) -> LosoResult:
    """The LOSO result of the seed ensemble: in every fold, the average of the probabilities of the networks the
    runs trained for that fold (one per seed). Still honest LOSO: every member of a fold's ensemble was trained
    without the held-out subject, and nothing is chosen on it. The runs must cover the same folds."""
    if not results:
        raise ValueError("no LOSO results to combine")
    first = results[0]
    for r in results[1:]:
        if (
            r.folds_run != first.folds_run
            or r.model != first.model
            or not np.array_equal(r.names, first.names)
        ):
            raise ValueError("the runs to combine must be of one model over the same folds")
    probs = np.mean([r.probs for r in results], axis=0)
    seeds = "+".join(str(r.seed) for r in results)
    return dataclasses.replace(
        first, probs=probs, seed=-1, recipe_name=f"{first.recipe_name}, ensemble of seeds {seeds}",
        fold_seconds={k: sum(r.fold_seconds.get(k, 0.0) for r in results) for k in first.fold_seconds},
        wall_s=sum(r.wall_s for r in results),
    )  # fmt: skip


def summarize_runs(results: Sequence[LosoResult]) -> dict[str, Any]:
    """Figures over several seeds of one model: ``uf1``/``uar`` means with ``*_std`` (sample standard deviation,
    0 for one seed), ``*_min``/``*_max``, ``per_dataset`` means, the confusion matrix summed over the seeds and
    each seed's full report in ``runs``."""
    if not results:
        raise ValueError("no LOSO results to summarise")
    reps = [r.report() for r in results]

    def stats(values: list[float], key: str) -> dict[str, float]:
        v = np.asarray(values, dtype=np.float64)
        return {key: float(v.mean()), f"{key}_std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                f"{key}_min": float(v.min()), f"{key}_max": float(v.max())}  # fmt: skip

    out: dict[str, Any] = {
        "task": "micro", "dataset": "megc2019", "protocol": "loso", "model": reps[0]["model"],
        "recipe": reps[0]["recipe"], "recipe_config": dataclasses.asdict(results[0].recipe),
        "seeds": [r["seed"] for r in reps], "n": reps[0]["n"], "folds": reps[0]["folds"],
        "folds_total": reps[0]["folds_total"], "partial": reps[0]["partial"],
    }  # fmt: skip
    out.update(stats([r["uf1"] for r in reps], "uf1"))
    out.update(stats([r["uar"] for r in reps], "uar"))
    out["accuracy"] = float(np.mean([r["accuracy"] for r in reps]))
    out["confusion"] = np.sum([r["confusion"] for r in reps], axis=0).tolist()
    out["per_dataset"] = {}
    for src in reps[0]["per_dataset"]:
        d: dict[str, Any] = {"n": reps[0]["per_dataset"][src]["n"]}
        d.update(stats([r["per_dataset"][src]["uf1"] for r in reps], "uf1"))
        d.update(stats([r["per_dataset"][src]["uar"] for r in reps], "uar"))
        out["per_dataset"][src] = d
    out["wall_s"] = round(sum(r["wall_s"] for r in reps), 2)
    out["runs"] = reps
    return out


def format_summary(summary: dict[str, Any], classes: Sequence[str]) -> str:
    """Human-readable text of :func:`summarize_runs`."""
    seeds = summary["seeds"]
    spread = len(seeds) > 1
    lines = [
        f"MEGC2019 LOSO, model {summary['model']}, recipe {summary['recipe']}, seeds {seeds}: "
        f"{summary['folds']}/{summary['folds_total']} folds, {summary['n']} samples"
        + ("  (PARTIAL: not all subjects were held out)" if summary["partial"] else "")
    ]

    def fig(d: dict[str, Any], key: str) -> str:
        return f"{d[key]:.4f}" + (f" ± {d[key + '_std']:.4f}" if spread else "")

    col = 15 if spread else 6
    lines.append(f"{'':10s} {'n':>4s}  {'UF1':>{col}s}  {'UAR':>{col}s}")
    lines.append(f"{'composite':10s} {summary['n']:4d}  {fig(summary, 'uf1')}  {fig(summary, 'uar')}")
    for src, d in summary["per_dataset"].items():
        lines.append(f"{src:10s} {d['n']:4d}  {fig(d, 'uf1')}  {fig(d, 'uar')}")
    if spread:
        for r in summary["runs"]:
            lines.append(f"  seed {r['seed']}: UF1 {r['uf1']:.4f}  UAR {r['uar']:.4f}  ({r['wall_s']:.1f} s)")
    title = "confusion matrix (rows = true, columns = predicted" + (
        ", summed over seeds):" if spread else "):"
    )
    lines.append(title)
    w = max(len(c) for c in classes)
    lines.append(" " * (w + 2) + " ".join(f"{c[:5]:>5}" for c in classes))
    for c, row in zip(classes, summary["confusion"], strict=True):
        lines.append(f"{c:<{w}}  " + " ".join(f"{v:5d}" for v in row))
    lines.append(f"wall time {summary['wall_s']:.1f} s")
    return "\n".join(lines)
