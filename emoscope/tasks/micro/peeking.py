"""How much does choosing the epoch on the held-out subject inflate a LOSO figure? A diagnostic, never a result.

Our LOSO (:func:`~emoscope.tasks.micro.loso.run_loso`) scores the network after its last epoch. Much published
micro-expression code instead evaluates the held-out subject after every epoch and keeps, per subject, the
epoch that scored best on that subject (for instance the HTNet reference code: the latest epoch whose accuracy
on the held-out subject is at least the best so far, over 800 epochs). That is model selection on the test
data. This module trains the same folds as ``run_loso`` (same seeds: the last epoch reproduces it exactly),
records the held-out predictions after every epoch, and scores three ways of picking the epoch:

* ``last_epoch``: the network after the last epoch (our protocol; nothing is chosen);
* ``best_global_epoch``: one epoch for every fold, the one with the best pooled UF1 (peeking at all subjects);
* ``best_epoch_per_subject``: per held-out subject, the latest epoch with the best accuracy on that subject
  (the HTNet rule; peeking at each subject).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from emoscope.datasets.megc2019 import MicroSet
from emoscope.errors import EmoscopeError
from emoscope.evaluation.metrics import uf1_uar
from emoscope.tasks.micro import loso


@dataclass
class EpochCurves:
    """Held-out predictions after every epoch of every LOSO fold run.

    probs: ``(E, M, K)`` probabilities after epoch ``e`` (0-based) for the M samples of the folds run;
    y_true, subjects: ``(M,)``; classes: the K class names.
    """

    model: str
    recipe_name: str
    seed: int
    probs: np.ndarray
    y_true: np.ndarray
    subjects: np.ndarray
    classes: tuple[str, ...]
    wall_s: float = 0.0


def _run_task_epochs(task: tuple[Any, str, loso.MicroRecipe, int, np.ndarray, np.ndarray]) -> tuple[Any, np.ndarray]:
    """Like ``loso._run_task``, but returns ``(E, n_test, K)``: the held-out probabilities after every epoch."""
    key, model, recipe, torch_seed, train, test = task
    flow, labels = loso._WORKER["flow"], loso._WORKER["labels"]
    per_epoch: list[np.ndarray] = []
    loso.train_model(model, flow[train], labels[train], recipe, torch_seed,
                     on_epoch=lambda _e, net: per_epoch.append(loso.predict_proba(net, flow[test])))  # fmt: skip
    return key, np.stack(per_epoch)


def run_loso_epochs(
    data: MicroSet,
    model: str = "micro_attn_plain",
    recipe: loso.MicroRecipe | str = "default",
    seed: int = 0,
    *,
    epochs: int | None = None,
    limit_folds: int = 0,
    jobs: int = 1,
) -> EpochCurves:
    """Run LOSO exactly as :func:`~emoscope.tasks.micro.loso.run_loso` (same folds and seeds) and keep the
    held-out probabilities after every epoch. epochs: override the recipe's epoch count (the cosine schedule
    then spans the new count, so only the default count reproduces ``run_loso``)."""
    loso.check_micro_model(model)
    name, recipe = loso.resolve_recipe(recipe)
    if epochs is not None:
        if epochs < 1:
            raise EmoscopeError(f"epochs must be at least 1, not {epochs}")
        recipe = dataclasses.replace(recipe, epochs=epochs)
    folds = loso.loso_folds(data.subjects)
    chosen = [folds[i] for i in loso.pick_folds(len(folds), limit_folds)]
    tasks = [(f.index, model, recipe, loso.fold_seed(seed, f.index), f.train, f.test) for f in chosen]
    probs = np.full((recipe.epochs, len(data), len(data.classes)), np.nan)
    t0 = time.perf_counter()
    for index, p in loso._map_tasks(data, tasks, jobs, _run_task_epochs):
        probs[:, folds[index].test] = p
    ran = np.sort(np.concatenate([f.test for f in chosen]))
    return EpochCurves(model=model, recipe_name=name, seed=seed, probs=probs[:, ran], y_true=data.labels[ran],
                       subjects=data.subjects[ran], classes=data.classes, wall_s=time.perf_counter() - t0)  # fmt: skip


def best_epoch_per_subject(curves: EpochCurves) -> dict[str, int]:
    """The HTNet rule: for each held-out subject, the latest epoch with the best accuracy on that subject."""
    pred = curves.probs.argmax(axis=2)  # (E, M)
    chosen = {}
    for s in sorted(set(curves.subjects.tolist())):
        m = curves.subjects == s
        acc = (pred[:, m] == curves.y_true[m]).mean(axis=1)
        chosen[s] = int(np.flatnonzero(acc == acc.max())[-1])
    return chosen


def peeking_report(curves: EpochCurves) -> dict[str, Any]:
    """UF1 / UAR of the three epoch choices (see the module docstring); only ``last_epoch`` is a valid figure."""
    k = len(curves.classes)
    pred = curves.probs.argmax(axis=2)
    per_epoch = [uf1_uar(curves.y_true, p, k) for p in pred]

    def fig(r: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"uf1": r["uf1"], "uar": r["uar"], "accuracy": r["accuracy"], **extra}

    best = int(np.argmax([r["uf1"] for r in per_epoch]))
    per_subject = best_epoch_per_subject(curves)
    picked = np.empty(len(curves.y_true), np.int64)
    for s, e in per_subject.items():
        m = curves.subjects == s
        picked[m] = pred[e, m]
    chosen = np.array(list(per_subject.values()))
    return {
        "model": curves.model,
        "recipe": curves.recipe_name,
        "seed": curves.seed,
        "epochs": int(curves.probs.shape[0]),
        "n": int(len(curves.y_true)),
        "last_epoch": fig(per_epoch[-1]),
        "best_global_epoch": fig(per_epoch[best], epoch=best + 1),
        "best_epoch_per_subject": fig(uf1_uar(curves.y_true, picked, k),
                                      median_epoch=float(np.median(chosen + 1))),  # fmt: skip
        "uf1_by_epoch": [round(r["uf1"], 4) for r in per_epoch],
        "wall_s": round(curves.wall_s, 1),
    }
