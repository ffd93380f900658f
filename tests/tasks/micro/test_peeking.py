"""The peeking diagnostic: per-epoch held-out predictions reproduce our LOSO, and the epoch-choosing rules that
published code uses are computed as described (they may only look better, never be reported as results)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from emoscope.datasets import MicroSet
from emoscope.tasks.micro.loso import RECIPES, MicroRecipe, predict_proba, run_loso, train_model
from emoscope.tasks.micro.peeking import EpochCurves, best_epoch_per_subject, peeking_report, run_loso_epochs

TINY = MicroRecipe(epochs=3, batch_size=16, mixup=0.2, rotate=5.0, scale=0.05)
BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "micro_peeking.py"


def test_watching_every_epoch_does_not_change_the_training(data: MicroSet) -> None:
    seen: list[int] = []

    def watch(epoch: int, net: torch.nn.Module) -> None:
        seen.append(epoch)
        predict_proba(net, data.flow[:5])  # eval mode, as the diagnostic does

    torch.set_num_threads(1)
    plain = train_model("micro_attn", data.flow, data.labels, TINY, seed=3)
    watched = train_model("micro_attn", data.flow, data.labels, TINY, seed=3, on_epoch=watch)
    assert seen == [0, 1, 2]
    for (name, a), (_, b) in zip(plain.state_dict().items(), watched.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_last_epoch_reproduces_loso(data: MicroSet) -> None:
    curves = run_loso_epochs(data, "micro_attn_plain", TINY, seed=1, limit_folds=2)
    ref = run_loso(data, "micro_attn_plain", TINY, seed=1, limit_folds=2)
    assert curves.probs.shape == (3, len(ref.y_true), 3)
    assert np.array_equal(curves.probs[-1], ref.probs) and np.array_equal(curves.subjects, ref.subjects)
    assert not np.allclose(curves.probs[0], curves.probs[-1])
    rep = peeking_report(curves)
    assert rep["last_epoch"]["uf1"] == pytest.approx(ref.report()["uf1"])
    assert rep["epochs"] == 3 and len(rep["uf1_by_epoch"]) == 3
    # epochs can be overridden; the recipe name is kept
    assert run_loso_epochs(data, "micro_attn_plain", "default", epochs=2, limit_folds=1).probs.shape[0] == 2


def _curves(pred: list[list[int]], y: list[int], subjects: list[str]) -> EpochCurves:
    probs = np.eye(3)[np.array(pred)] * 0.8 + 0.2 / 3  # (E, M, 3), argmax = pred
    return EpochCurves("m", "r", 0, probs, np.array(y), np.array(subjects), ("negative", "positive", "surprise"))


def test_per_subject_rule_keeps_the_latest_best_epoch() -> None:
    y = [0, 1, 2, 0]
    subjects = ["a", "a", "b", "b"]
    pred = [[0, 0, 2, 1],  # epoch 1: a 1/2, b 1/2
            [0, 1, 0, 1],  # epoch 2: a 2/2, b 0/2
            [0, 1, 1, 1],  # epoch 3: a 2/2 (tie: the later one is kept), b 0/2
            [1, 1, 0, 2]]  # epoch 4 (last): a 1/2, b 0/2  # fmt: skip
    c = _curves(pred, y, subjects)
    assert best_epoch_per_subject(c) == {"a": 2, "b": 0}
    rep = peeking_report(c)
    assert rep["best_epoch_per_subject"]["accuracy"] == pytest.approx(3 / 4)
    assert rep["best_epoch_per_subject"]["median_epoch"] == 2.0
    assert rep["last_epoch"]["accuracy"] == pytest.approx(1 / 4)
    assert rep["best_global_epoch"]["epoch"] in (1, 2, 3) and rep["best_global_epoch"]["uf1"] >= rep["last_epoch"]["uf1"]


def test_unknown_recipe_or_bad_epochs(data: MicroSet) -> None:
    from emoscope.errors import EmoscopeError

    with pytest.raises(EmoscopeError, match="unknown recipe"):
        run_loso_epochs(data, "micro_attn_plain", "nope")
    with pytest.raises(EmoscopeError, match="epochs"):
        run_loso_epochs(data, "micro_attn_plain", "default", epochs=0)
    assert "default" in RECIPES


def test_benchmark_script_prints_and_writes_the_report(megc: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "peek.json"
    npz = tmp_path / "probs.npz"
    argv = [str(BENCH), "--data", str(megc), "--epochs", "2", "--limit-folds", "2", "--json", str(out),
            "--save-probs", str(npz)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(BENCH), run_name="__main__")
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "last epoch (our protocol" in text and "HTNet rule" in text
    rep = json.loads(out.read_text())
    assert rep["epochs"] == 2 and set(rep) >= {"last_epoch", "best_global_epoch", "best_epoch_per_subject"}
    saved = np.load(npz)
    assert saved["probs"].shape == (2, rep["n"], 3) and saved["subjects"].shape == (rep["n"],)
