"""Compound expressions read from the distribution over basic emotions (no compound training labels).

Taxonomy: the 11 compound classes of Du, Tao & Martinez 2014 ("Compound facial expressions of emotion", PNAS) that
RAF-DB uses (Li, Deng & Du 2017), each an unordered pair of basic emotions: :data:`COMPOUND_PAIRS`. Contempt and
neutral take part in none.

Rule (:class:`CompoundRule`). The logits of the FER+ head are turned into a distribution at the *distribution
temperature* ``T_d``, fitted on FER+ validation images to the annotators' vote distributions (minimum mean KL
divergence). If the two most probable emotions form a taxonomy pair and the second has probability
``>= min_second``, the face gets that compound label, else its basic label (the most probable emotion). ``T_d`` and
``min_second`` are fitted on ``FER2013Valid`` only (:func:`fit_compound_rule`, ``emoscope calibrate compound``),
``min_second`` by maximising the exact-pair compound F1 against the protocol below; they are stored in the model's
metadata JSON (key ``compound``).

Ground truth (:func:`compound_truth`; the protocol of ``emoscope evaluate compound``). FER+ gives 10 annotator votes
per image. An image is a *compound example* when its two top-voted emotions each have ``>= 3`` of the 10 votes and
form a taxonomy pair; the pair is then its label. Otherwise its label is the basic majority emotion. Images whose
majority vote is *unknown* / *not a face* are left out, and so are images where second place is tied between
emotions with ``>= 3`` votes each (e.g. 4-3-3: the pair is ambiguous); both counts are reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.labels import FERPLUS_CLASSES

#: ``(name, emotion, emotion)`` of the 11 compound expressions (Du et al. 2014 / RAF-DB), canonical emotion names.
COMPOUND_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("happily surprised", "happiness", "surprise"),
    ("happily disgusted", "happiness", "disgust"),
    ("sadly fearful", "sadness", "fear"),
    ("sadly angry", "sadness", "anger"),
    ("sadly surprised", "sadness", "surprise"),
    ("sadly disgusted", "sadness", "disgust"),
    ("fearfully angry", "fear", "anger"),
    ("fearfully surprised", "fear", "surprise"),
    ("angrily surprised", "anger", "surprise"),
    ("angrily disgusted", "anger", "disgust"),
    ("disgustedly surprised", "disgust", "surprise"),
)
COMPOUND_NAMES: tuple[str, ...] = tuple(n for n, _, _ in COMPOUND_PAIRS)

#: Votes each of the two emotions needs (of FER+'s 10) for an image to count as a compound example.
MIN_VOTES = 3

#: Grid searched for ``min_second`` (probability of the second emotion).
MIN_SECOND_GRID = np.round(np.arange(0.05, 0.5001, 0.005), 3)


def compound_name(a: str, b: str) -> str | None:
    """The compound label of two emotions in either order (``"surprise", "happiness"`` -> ``"happily surprised"``),
    None when the pair is not in the taxonomy."""
    for name, x, y in COMPOUND_PAIRS:
        if {a, b} == {x, y}:
            return name
    return None


def pair_table(classes: Sequence[str]) -> np.ndarray:
    """``(K, K)`` int table: index into :data:`COMPOUND_PAIRS` of the pair (class i, class j), -1 if none."""
    t = np.full((len(classes), len(classes)), -1, np.int64)
    for j, (_, a, b) in enumerate(COMPOUND_PAIRS):
        if a in classes and b in classes:
            ia, ib = list(classes).index(a), list(classes).index(b)
            t[ia, ib] = t[ib, ia] = j
    return t


def softmax(z: np.ndarray, t: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``z / t``: ``(N, K)`` -> ``(N, K)``."""
    z = np.asarray(z, np.float64) / t
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def retemper(probs: np.ndarray, from_t: float, to_t: float) -> np.ndarray:
    """Probabilities ``softmax(z / from_t)`` -> ``softmax(z / to_t)`` without the logits: ``p^(from_t / to_t)``,
    renormalised. ``(N, K)`` -> ``(N, K)``."""
    logp = np.log(np.clip(np.asarray(probs, np.float64), 1e-300, 1.0))
    return softmax(logp, to_t / from_t)


@dataclass(frozen=True)
class CompoundRule:
    """The fitted compound rule of one head (see the module docstring).

    classes: the head's class names (canonical), in its output order.
    distribution_temperature: ``T_d``; the rule reads ``softmax(logits / T_d)``.
    min_second: probability the second emotion needs, in (0, 0.5].
    prior: mean annotator distribution of the fitting split over ``classes`` (a constant-prediction baseline for
        reports), or None.
    """

    classes: tuple[str, ...]
    distribution_temperature: float
    min_second: float
    prior: tuple[float, ...] | None = None

    def distribution(self, *, logits: np.ndarray | None = None, probs: np.ndarray | None = None,
                     temperature: float = 1.0) -> np.ndarray:  # fmt: skip
        """``(N, K)`` distribution the rule reads, from raw ``logits`` or from ``probs`` computed at
        ``temperature`` (e.g. an :class:`ExpressionRecognizer`'s calibrated probabilities and its temperature)."""
        if logits is not None:
            return softmax(logits, self.distribution_temperature)
        if probs is None:
            raise ValueError("give logits or probs")
        return retemper(probs, temperature, self.distribution_temperature)

    def decide(self, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(N, K)`` distribution -> ``(pair, top1, top2)``: index into :data:`COMPOUND_PAIRS` (-1 = basic label)
        and the indices of the two most probable classes, each ``(N,)`` int."""
        dist = np.asarray(dist, np.float64)
        order = np.argsort(-dist, axis=1, kind="stable")
        top1, top2 = order[:, 0], order[:, 1]
        p2 = dist[np.arange(len(dist)), top2]
        pair = pair_table(self.classes)[top1, top2]
        pair = np.where((pair >= 0) & (p2 >= self.min_second), pair, -1)
        return pair, top1, top2

    def labels(self, dist: np.ndarray) -> list[tuple[str, tuple[str, ...]]]:
        """``(N, K)`` distribution -> per face ``(label, components)``: ``("happily surprised", ("happiness",
        "surprise"))`` for a compound (components most probable first), ``("happiness", ("happiness",))`` else."""
        pair, top1, top2 = self.decide(dist)
        out = []
        for j, a, b in zip(pair, top1, top2, strict=True):
            if j >= 0:
                out.append((COMPOUND_NAMES[j], (self.classes[a], self.classes[b])))
            else:
                out.append((self.classes[a], (self.classes[a],)))
        return out

    def to_meta(self) -> dict[str, Any]:
        """The fields stored in the model metadata (``compound`` entry)."""
        d: dict[str, Any] = {
            "classes": list(self.classes),
            "distribution_temperature": round(float(self.distribution_temperature), 4),
            "min_second": float(self.min_second),
        }
        if self.prior is not None:
            d["prior"] = [round(float(v), 6) for v in self.prior]
        return d

    @classmethod
    def from_meta(cls, meta: dict[str, Any], head: str | None = None) -> CompoundRule | None:
        """The rule stored in a model's metadata dict, or None when it has none (for ``head``, if given)."""
        entry = meta.get("compound")
        if not entry or (head is not None and entry.get("head") != head):
            return None
        prior = entry.get("prior")
        return cls(tuple(entry["classes"]), float(entry["distribution_temperature"]), float(entry["min_second"]),
                   tuple(prior) if prior is not None else None)  # fmt: skip


@dataclass
class CompoundTruth:
    """Ground truth of the compound protocol for ``N`` FER+ images (all arrays ``(N,)``).

    emotion: has an emotion majority label (not unknown / not-a-face).
    tie: second place tied between emotions with ``>= min_votes`` votes (ambiguous pair).
    valid: ``emotion & ~tie``: the images the compound metrics use.
    pair: index into :data:`COMPOUND_PAIRS` of a compound example, -1 otherwise.
    majority: majority emotion index into the 8 FER+ emotions (-1 = none).
    first, second: the two top-voted emotions (stable order: ties go to the earlier FER+ column).
    """

    emotion: np.ndarray
    tie: np.ndarray
    valid: np.ndarray
    pair: np.ndarray
    majority: np.ndarray
    first: np.ndarray
    second: np.ndarray

    @property
    def is_compound(self) -> np.ndarray:
        return self.pair >= 0


def compound_truth(votes: np.ndarray, min_votes: int = MIN_VOTES) -> CompoundTruth:
    """Apply the protocol (module docstring) to ``(N, 10)`` FER+ vote counts (8 emotions, unknown, NF)."""
    from emoscope.datasets.ferplus import majority_labels

    votes = np.asarray(votes, np.float64)
    e = votes[:, : len(FERPLUS_CLASSES)]
    n = np.arange(len(e))
    order = np.argsort(-e, axis=1, kind="stable")
    first, second, third = order[:, 0], order[:, 1], order[:, 2]
    v2, v3 = e[n, second], e[n, third]
    majority = majority_labels(votes.astype(np.float32))
    emotion = majority >= 0
    tie = emotion & (v2 >= min_votes) & (v3 == v2)
    pair = np.where(emotion & ~tie & (v2 >= min_votes), pair_table(FERPLUS_CLASSES)[first, second], -1)
    return CompoundTruth(emotion, tie, emotion & ~tie, pair, majority, first, second)


def fit_distribution_temperature(logits: np.ndarray, target: np.ndarray, lo: float = 0.05, hi: float = 20.0,
                                 iters: int = 80) -> float:  # fmt: skip
    """``T`` minimising the mean KL(target || softmax(logits / T)) (golden-section search on log T).

    logits: ``(N, K)``; target: ``(N, K)`` reference distributions (e.g. annotators' vote shares).
    """

    from emoscope.evaluation.metrics import kl_divergence

    def f(log_t: float) -> float:
        return float(kl_divergence(target, softmax(logits, float(np.exp(log_t)))).mean())

    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return float(np.exp((a + b) / 2))


def _pair_scores(pred_pair: np.ndarray, truth: CompoundTruth) -> dict[str, float]:
    from emoscope.evaluation.metrics import binary_prf

    v = truth.valid
    exact = binary_prf(truth.is_compound[v], (pred_pair >= 0)[v])
    exact_tp = int(((pred_pair == truth.pair) & truth.is_compound & v).sum())
    p = exact_tp / exact["n_pred"] if exact["n_pred"] else 0.0
    r = exact_tp / exact["n_true"] if exact["n_true"] else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r > 0 else 0.0, "tp": exact_tp,
            "n_true": exact["n_true"], "n_pred": exact["n_pred"]}  # fmt: skip


def fit_compound_rule(logits: np.ndarray, votes: np.ndarray, classes: Sequence[str] = FERPLUS_CLASSES,
                      grid: np.ndarray = MIN_SECOND_GRID) -> tuple[CompoundRule, dict[str, Any]]:  # fmt: skip
    """Fit ``T_d`` and ``min_second`` on a *validation* split.

    logits: ``(N, 8)`` raw logits of the FER+ head (FER+ class order); votes: ``(N, 10)`` FER+ vote counts.
    Returns the rule and the fit's figures (objective, best F1, the range of ``min_second`` within 0.01 F1 of the
    best, counts).
    """
    from emoscope.datasets.ferplus import vote_distribution

    classes = tuple(classes)
    if classes != FERPLUS_CLASSES:
        raise ValueError(
            f"the compound rule is fitted on the FER+ head (classes {FERPLUS_CLASSES}), got {classes}"
        )
    truth = compound_truth(votes)
    if not truth.is_compound.any():
        raise ValueError("no compound examples (two emotions with >= 3 votes each) to fit the rule on")
    q = vote_distribution(np.asarray(votes, np.float32)).astype(np.float64)
    e = truth.emotion
    t_d = fit_distribution_temperature(logits[e], q[e])
    dist = softmax(logits, t_d)
    f1s = []
    for t in grid:
        pair, _, _ = CompoundRule(classes, t_d, float(t)).decide(dist)
        f1s.append(_pair_scores(pair, truth)["f1"])
    f1s = np.asarray(f1s)
    best = int(np.argmax(f1s))  # ties: the lowest threshold
    near = grid[f1s >= f1s[best] - 0.01]
    rule = CompoundRule(classes, t_d, float(grid[best]), tuple(float(v) for v in q[e].mean(axis=0)))
    fit = {
        "objective": "exact-pair compound F1 on the fitting split (grid over min_second, step 0.005)",
        "best_f1": float(f1s[best]),
        "min_second_within_0.01_f1": [float(near.min()), float(near.max())],
        "distribution_temperature_objective": "mean KL(annotator votes || softmax(logits / T))",
        "n": int(truth.valid.sum()),
        "n_compound": int(truth.is_compound.sum()),
    }
    return rule, fit


def compound_report(logits: np.ndarray, votes: np.ndarray, rule: CompoundRule,
                    reported_temperature: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """All the figures of ``emoscope evaluate compound`` for ``(N, 8)`` FER+-head logits and ``(N, 10)`` votes.

    reported_temperature: the temperature of the probabilities the model reports (its calibration), for the
    distribution distances of the reported probabilities.

    Returns ``n`` (images with an emotion majority), ``excluded`` (unknown / not-a-face majority), ``ties`` (left
    out of the compound metrics), ``n_compound`` / ``n_single`` (ground truth), ``compound_pair_accuracy`` (compound
    examples given exactly their pair), ``top2_pair_rate`` (compound examples whose two most probable emotions are
    the pair: the ceiling of any top-2 rule), ``detection`` (single-vs-compound P/R/F1), ``pair_f1`` (P/R/F1 where
    a hit needs the right pair), ``label_accuracy`` (over basic + compound labels), ``single_accuracy``,
    ``per_pair`` (n, recall, predicted), ``distribution`` (KL and 1 - TV of the reported probabilities, of the
    rule's distribution and of the constant ``prior``, each vs the annotators' vote distribution) and
    ``intensity`` (1 - P(neutral) vs the annotators' non-neutral vote share: CCC and Pearson r).
    """
    from emoscope.datasets.ferplus import vote_distribution
    from emoscope.evaluation.metrics import binary_prf, ccc, distribution_overlap, kl_divergence

    logits = np.asarray(logits, np.float64)
    truth = compound_truth(votes)
    dist = rule.distribution(logits=logits)
    pair, top1, top2 = rule.decide(dist)
    v, comp = truth.valid, truth.is_compound
    k = len(rule.classes)
    true_label = np.where(comp, k + truth.pair, truth.majority)
    pred_label = np.where(pair >= 0, k + pair, top1)
    same_pair = ((top1 == truth.first) & (top2 == truth.second)) | (
        (top1 == truth.second) & (top2 == truth.first)
    )
    n_comp = int((comp & v).sum())
    single = v & ~comp
    per_pair = {}
    for j, name in enumerate(COMPOUND_NAMES):
        m = v & (truth.pair == j)
        per_pair[name] = {"n": int(m.sum()), "recall": float((pair[m] == j).mean()) if m.any() else None,
                          "predicted": int((v & (pair == j)).sum())}  # fmt: skip
    e = truth.emotion
    q = vote_distribution(np.asarray(votes, np.float32)).astype(np.float64)[e]
    reported = softmax(logits, reported_temperature)[e]
    dist_e = dist[e]
    distances: dict[str, Any] = {
        "reported": {"kl": float(kl_divergence(q, reported).mean()),
                     "overlap": float(distribution_overlap(q, reported).mean()),
                     "temperature": float(reported_temperature)},
        "rule": {"kl": float(kl_divergence(q, dist_e).mean()), "overlap": float(distribution_overlap(q, dist_e).mean()),
                 "temperature": float(rule.distribution_temperature)},
    }  # fmt: skip
    if rule.prior is not None:
        prior = np.broadcast_to(np.asarray(rule.prior, np.float64), q.shape)
        distances["prior_baseline"] = {"kl": float(kl_divergence(q, prior).mean()),
                                       "overlap": float(distribution_overlap(q, prior).mean())}  # fmt: skip
    neutral = list(rule.classes).index("neutral")
    inten_pred, inten_true = 1 - dist_e[:, neutral], 1 - q[:, neutral]
    with np.errstate(invalid="ignore", divide="ignore"):
        r_int = float(np.corrcoef(inten_true, inten_pred)[0, 1]) if len(q) > 1 else float("nan")
    return {
        "n": int(e.sum()),
        "excluded": int((~e).sum()),
        "ties": int(truth.tie.sum()),
        "n_compound": n_comp,
        "n_single": int(single.sum()),
        "compound_pair_accuracy": float((pair[comp & v] == truth.pair[comp & v]).mean()) if n_comp else None,
        "top2_pair_rate": float(same_pair[comp & v].mean()) if n_comp else None,
        "detection": binary_prf(comp[v], (pair >= 0)[v]),
        "pair_f1": _pair_scores(pair, truth),
        "label_accuracy": float((pred_label[v] == true_label[v]).mean()) if v.any() else None,
        "single_accuracy": float((pred_label[single] == true_label[single]).mean()) if single.any() else None,
        "per_pair": per_pair,
        "distribution": distances,
        "intensity": {"ccc": ccc(inten_true, inten_pred), "pearson_r": r_int,
                      "definition": "1 - P(neutral) of the rule's distribution vs 1 - neutral vote share"},
        "rule": rule.to_meta() | {"min_votes": MIN_VOTES},
    }  # fmt: skip


def format_compound_report(rep: dict[str, Any], title: str = "") -> str:
    """Human-readable text of a :func:`compound_report`."""
    d, pf, dist = rep["detection"], rep["pair_f1"], rep["distribution"]
    lines = [title] if title else []
    lines.append(f"n={rep['n']} (excluded unknown/NF {rep['excluded']}, second-place ties {rep['ties']})  "
                 f"compound examples={rep['n_compound']}  single={rep['n_single']}")  # fmt: skip
    acc = rep["compound_pair_accuracy"]
    top2 = rep["top2_pair_rate"]
    lines.append(f"compound-pair accuracy={acc if acc is None else f'{acc:.4f}'}  (pair = model's top 2: "
                 f"{top2 if top2 is None else f'{top2:.4f}'})")  # fmt: skip
    lines.append(f"single-vs-compound detection: P={d['precision']:.4f} R={d['recall']:.4f} F1={d['f1']:.4f}  "
                 f"exact-pair: P={pf['precision']:.4f} R={pf['recall']:.4f} F1={pf['f1']:.4f}")  # fmt: skip
    la, sa = rep["label_accuracy"], rep["single_accuracy"]
    lines.append(f"label accuracy (basic + compound)={la if la is None else f'{la:.4f}'}  "
                 f"single accuracy={sa if sa is None else f'{sa:.4f}'}")  # fmt: skip
    for k, v in dist.items():
        lines.append(f"vs annotators' distribution, {k:14s}: KL={v['kl']:.4f}  1-TV={v['overlap']:.4f}")
    lines.append(
        f"intensity vs non-neutral vote share: CCC={rep['intensity']['ccc']:.4f}  r={rep['intensity']['pearson_r']:.4f}"
    )
    lines.append("per compound: n, recall, predicted")
    for name, s in rep["per_pair"].items():
        r = "  -  " if s["recall"] is None else f"{s['recall']:.3f}"
        lines.append(f"  {name:22s} {s['n']:4d}  {r}  {s['predicted']:4d}")
    return "\n".join(lines)


def fit_compound_entry(model: str | Path | None, ferplus: str | Path, *, tta: bool | None = None,
                       threads: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Fit the rule of an exported model (its ``ferplus`` head) on FER+ ``FER2013Valid`` through the deployed
    inference path; returns the metadata entry (rule, fit figures, validation report, provenance). Writes nothing."""
    from emoscope.datasets import load_ferplus

    rec = _ferplus_recognizer(model, calibrated=False, tta=tta, threads=threads)
    val = load_ferplus(ferplus, "val")
    logits = rec.logits(val.images)
    rule, fit = fit_compound_rule(logits, val.votes, rec.classes)
    temperature = float(rec.meta["heads"]["ferplus"].get("temperature", 1.0))
    rep = compound_report(logits, val.votes, rule, temperature)
    summary = {k: rep[k] for k in ("n", "n_compound", "compound_pair_accuracy", "label_accuracy")}
    summary |= {"detection_f1": rep["detection"]["f1"], "pair_f1": rep["pair_f1"]["f1"],
                "kl_reported": rep["distribution"]["reported"]["kl"], "kl_rule": rep["distribution"]["rule"]["kl"]}  # fmt: skip
    return {
        "head": "ferplus",
        "taxonomy": "Du et al. 2014 / RAF-DB, 11 compound expressions",
        "pairs": {n: [a, b] for n, a, b in COMPOUND_PAIRS},
        "rule": "the two most probable emotions of softmax(logits / distribution_temperature) form a taxonomy pair "
        "and the second has probability >= min_second -> compound, else the basic label",
        **rule.to_meta(),
        "fit": fit,
        "fitted_on": f"{val.name} (n={int(compound_truth(val.votes).emotion.sum())}); the test split is never read",
        "val": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in summary.items()},
        "onnx_sha256": hashlib.sha256(rec.model_path.read_bytes()).hexdigest(),
        "command": " ".join(["emoscope", *sys.argv[1:]]) if Path(sys.argv[0]).name == "emoscope" else None,
    }


def calibrate_compound(
    model: str | Path | None, ferplus: str | Path, *, threads: int | None = None
) -> dict[str, Any]:
    """Fit the compound rule of ``model`` (default: the shipped one) on FER+ validation and store it in the
    model's metadata JSON (key ``compound``), written atomically (temporary file + rename; other keys kept).
    Re-runnable: re-fit after every re-export. Returns the entry."""
    from emoscope.tasks.expression.predictor import DEFAULT_MODEL

    onnx = Path(model) if model else DEFAULT_MODEL
    entry = fit_compound_entry(onnx, ferplus, threads=threads)
    update_metadata(onnx.with_suffix(".json"), "compound", entry)
    return entry


def evaluate_compound(dataset: str, data: str | Path, split: str = "test", model: str | Path | None = None,
                      threads: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Score the compound rule stored in ``model``'s metadata on a FER+ split (the protocol of the module
    docstring) through the deployed inference path. Returns :func:`compound_report` plus dataset / model fields."""
    from emoscope.datasets import load_ferplus
    from emoscope.errors import DatasetError, EmoscopeError

    if dataset != "ferplus":
        raise DatasetError(
            f"compound evaluation needs annotator votes: dataset must be ferplus, not {dataset!r}"
        )
    rec = _ferplus_recognizer(model, calibrated=False, threads=threads)
    rule = CompoundRule.from_meta(rec.meta, "ferplus")
    if rule is None:
        raise EmoscopeError(f"{rec.model_path.with_suffix('.json')}: no fitted compound rule; run "
                            f"'emoscope calibrate compound --ferplus-data FERPLUS --model {rec.model_path}'")  # fmt: skip
    fs = load_ferplus(data, split)
    rep = compound_report(rec.logits(fs.images), fs.votes, rule,
                          float(rec.meta["heads"]["ferplus"].get("temperature", 1.0)))  # fmt: skip
    rep.update(dataset=dataset, split=split, data=str(data), model=str(rec.model_path), head="ferplus",
               split_name=fs.name)  # fmt: skip
    return rep


def update_metadata(meta_path: str | Path, key: str, value: Any) -> None:
    """Set ``key`` of a metadata JSON file atomically: read it now, write a temporary file beside it, rename."""
    meta_path = Path(meta_path)
    meta = json.loads(meta_path.read_text())
    meta[key] = value
    tmp = meta_path.with_name(f"{meta_path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, meta_path)


def _ferplus_recognizer(model, **kwargs):
    """The model's ``ferplus`` head; a model without one is refused in words that fit the compound commands (which
    have no ``--head`` option)."""
    from emoscope.errors import UnknownHeadError
    from emoscope.tasks.expression.predictor import ExpressionRecognizer

    try:
        return ExpressionRecognizer(model, head="ferplus", **kwargs)
    except UnknownHeadError as e:
        raise UnknownHeadError(e.path, "the compound rule needs the model's 'ferplus' head (8 FER+ emotions), and "
                               "this model has none (a fer2013-only model); use a model trained with --labels "
                               "ferplus or both") from None  # fmt: skip
