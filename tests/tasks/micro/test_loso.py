"""LOSO protocol: folds, UF1/UAR, reproducibility and the ``emoscope evaluate micro`` command on generated data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.cli import build_parser, main
from emoscope.datasets import MicroSet, load_megc2019
from emoscope.evaluation.metrics import uf1_uar
from emoscope.tasks.micro.loso import (
    RECIPES,
    LosoResult,
    MicroRecipe,
    class_weights,
    loso_folds,
    pick_folds,
    run_loso,
    summarize_runs,
)

TINY = MicroRecipe(epochs=2, batch_size=32)


# ------------------------------------------------------------------------------------------------ folds


def test_every_sample_is_tested_exactly_once_and_never_with_its_subject_in_training(data: MicroSet) -> None:
    folds = loso_folds(data.subjects)
    assert [f.subject for f in folds] == data.subject_ids() and len(folds) == 7
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(data)))  # each sample held out exactly once
    for f in folds:
        assert set(data.subjects[f.test]) == {f.subject}
        assert f.subject not in set(data.subjects[f.train])
        assert len(np.intersect1d(f.train, f.test)) == 0 and len(f.train) + len(f.test) == len(data)


def test_folds_on_random_subject_ids() -> None:
    rng = np.random.default_rng(0)
    subjects = rng.choice(["a/1", "b/1", "a/2", "c/9", "b/2"], size=200)
    folds = loso_folds(subjects)
    assert len(folds) == 5
    counts = np.zeros(200, int)
    for f in folds:
        counts[f.test] += 1
        assert not set(subjects[f.train]) & set(subjects[f.test])
    assert (counts == 1).all()


def test_pick_folds_spreads_over_the_subjects() -> None:
    assert pick_folds(68, 0) == list(range(68)) and pick_folds(5, 9) == list(range(5))
    assert pick_folds(68, 5) == [0, 17, 34, 50, 67]
    assert pick_folds(7, 3) == [0, 3, 6]


# ------------------------------------------------------------------------------------------------ metrics


def _megc_reference(y: list[int], pred: list[int], k: int) -> tuple[float, float]:
    """UF1/UAR as the MEGC2019 scripts compute them: one-vs-rest TP, FP, FN per class."""
    f1s, recalls = [], []
    for c in range(k):
        tp = sum(a == c and b == c for a, b in zip(y, pred, strict=True))
        fp = sum(a != c and b == c for a, b in zip(y, pred, strict=True))
        fn = sum(a == c and b != c for a, b in zip(y, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn))
        recalls.append(tp / (tp + fn))
    return float(np.mean(f1s)), float(np.mean(recalls))


def test_uf1_uar_against_a_hand_computed_example() -> None:
    y = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    r = uf1_uar(np.array(y), np.array(pred), 3)
    # F1: negative 2*2/(3+2) = 0.8, positive 2*1/(2+2) = 0.5, surprise 2*1/(1+2) = 2/3
    # recall: 2/3, 1/2, 1/1
    assert r["uf1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert r["uar"] == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert r["accuracy"] == pytest.approx(4 / 6) and r["n"] == 6
    assert r["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert (r["uf1"], r["uar"]) == pytest.approx(_megc_reference(y, pred, 3))


def test_uf1_uar_leave_out_classes_absent_from_the_truth() -> None:
    r = uf1_uar(np.array([0, 0, 1]), np.array([0, 2, 1]), 3)
    assert np.isnan(r["per_class_f1"][2]) and np.isnan(r["per_class_recall"][2])
    assert r["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert r["uf1"] == pytest.approx((2 / 3 + 1.0) / 2)  # the wrong 'surprise' still costs class 0 its F1


def test_report_pools_folds_and_splits_by_source() -> None:
    y = np.array([0, 1, 2, 0, 1, 2])
    pred = np.array([0, 1, 2, 1, 1, 0])
    res = LosoResult(
        model="micro_ststnet", recipe=MicroRecipe(), recipe_name="default", seed=0, n_folds=2, folds_run=[0, 1],
        y_true=y, probs=np.eye(3)[pred], subjects=np.array(["casme2/a"] * 3 + ["samm/b"] * 3),
        sources=np.array(["casme2"] * 3 + ["samm"] * 3), names=np.array(list("abcdef")), classes=("n", "p", "s"),
    )  # fmt: skip
    rep = res.report()
    assert rep["uf1"] == pytest.approx(uf1_uar(y, pred, 3)["uf1"]) and not rep["partial"]
    assert rep["per_dataset"]["casme2"] == {"uf1": 1.0, "uar": 1.0, "accuracy": 1.0, "n": 3,
                                            "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}  # fmt: skip
    assert rep["per_dataset"]["samm"]["uar"] == pytest.approx(1 / 3) and "smic" not in rep["per_dataset"]
    s = summarize_runs([res, res])
    assert (
        s["uf1"] == rep["uf1"]
        and s["uf1_std"] == 0.0
        and s["confusion"] == (2 * np.array(rep["confusion"])).tolist()
    )


def test_class_weights_balance_the_classes() -> None:
    y = np.array([0] * 6 + [1] * 3 + [2])
    w = class_weights(y, 3, "inverse")
    assert w is not None and (w.numpy() * np.bincount(y)).tolist() == pytest.approx([10 / 3] * 3)
    assert class_weights(y, 3, "none") is None


# ------------------------------------------------------------------------------------------------ training


def test_same_seed_same_numbers_and_partial_runs_reproduce_the_full_run(data: MicroSet) -> None:
    a = run_loso(data, "micro_attn", TINY, seed=1, limit_folds=3)
    b = run_loso(data, "micro_attn", TINY, seed=1, limit_folds=3)
    c = run_loso(data, "micro_attn", TINY, seed=2, limit_folds=3)
    assert np.array_equal(a.probs, b.probs) and a.report()["uf1"] == b.report()["uf1"]
    assert not np.array_equal(a.probs, c.probs)
    assert a.folds_run == [0, 3, 6] and a.report()["partial"]
    full = run_loso(data, "micro_attn", TINY, seed=1)
    assert len(full.y_true) == len(data) and not full.report()["partial"]
    shared = np.isin(full.names, a.names)
    assert np.array_equal(full.probs[shared], a.probs)


@pytest.mark.slow
def test_parallel_folds_give_the_same_numbers(data: MicroSet) -> None:
    one = run_loso(data, "micro_ststnet", TINY, seed=0, limit_folds=2, jobs=1)
    two = run_loso(data, "micro_ststnet", TINY, seed=0, limit_folds=2, jobs=2)
    assert np.array_equal(one.probs, two.probs)


@pytest.mark.parametrize(
    "model", ["micro_ststnet", "micro_attn", "micro_attn_plain", "micro_transformer", "mixup"]
)
def test_models_learn_the_generated_classes(data: MicroSet, model: str) -> None:
    recipe = MicroRecipe(epochs=25, batch_size=16, lr=5e-3)
    if model == "mixup":  # the plain network under mixup and warping still learns
        model, recipe = (
            "micro_attn_plain",
            MicroRecipe(epochs=25, batch_size=16, lr=5e-3, mixup=0.2, rotate=8, scale=0.08),
        )
    if model == "micro_ststnet":
        recipe = MicroRecipe(epochs=25, batch_size=16, lr=2e-3)
    res = run_loso(data, model, recipe, seed=0, limit_folds=3)
    assert res.report()["uf1"] > 0.8


def test_unknown_model_or_recipe_is_an_error(data: MicroSet) -> None:
    from emoscope.errors import EmoscopeError

    with pytest.raises(EmoscopeError, match="unknown micro-expression model"):
        run_loso(data, "expr_resnet_cbam", TINY)
    with pytest.raises(EmoscopeError, match="unknown recipe"):
        run_loso(data, "micro_attn", "fancy")


# ------------------------------------------------------------------------------------------------ CLI


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_cli_evaluate_micro_json(megc: Path, tmp_path: Path, capsys) -> None:
    pred_csv = tmp_path / "pred.csv"
    argv = ["evaluate", "micro", "--dataset", "megc2019", "--data", str(megc), "--protocol", "loso",
            "--model", "micro_attn", "--limit-folds", "3", "--epochs", "2", "--predictions", str(pred_csv), "--json"]  # fmt: skip
    assert main(argv) == 0
    cap = capsys.readouterr()
    rep = _last_json(cap.out)
    assert rep["model"] == "micro_attn" and rep["folds"] == 3 and rep["folds_total"] == 7 and rep["partial"]
    assert 0 <= rep["uf1"] <= 1 and 0 <= rep["uar"] <= 1 and rep["n"] == 27
    assert set(rep["per_dataset"]) == {"casme2", "samm", "smic"}
    for d in rep["per_dataset"].values():
        assert {"uf1", "uar", "n"} <= set(d) and d["n"] == 9
    assert np.array(rep["confusion"]).sum() == 27
    assert "UF1" in cap.out and "casme2/sub01" in cap.err  # per-fold progress goes to stderr
    lines = pred_csv.read_text().splitlines()
    assert lines[0].startswith("name,subject,source,seed,true,pred,p_negative") and len(lines) == 28
    # same command, same numbers
    assert main(argv) == 0
    again = _last_json(capsys.readouterr().out)
    assert (again["uf1"], again["uar"], again["confusion"]) == (rep["uf1"], rep["uar"], rep["confusion"])


def test_cli_seeds_report_the_spread(megc: Path, capsys) -> None:
    argv = ["evaluate", "micro", "--dataset", "megc2019", "--data", str(megc), "--model", "micro_ststnet",
            "--limit-folds", "2", "--epochs", "2", "--seeds", "0,1", "--json"]  # fmt: skip
    assert main(argv) == 0
    rep = _last_json(capsys.readouterr().out)
    assert rep["seeds"] == [0, 1] and len(rep["runs"]) == 2
    assert rep["uf1"] == pytest.approx(np.mean([r["uf1"] for r in rep["runs"]]))
    assert rep["uf1_std"] == pytest.approx(np.std([r["uf1"] for r in rep["runs"]], ddof=1))


def test_cli_errors_and_recipe_choices(megc: Path, tmp_path: Path, capsys) -> None:
    base = ["evaluate", "micro", "--dataset", "megc2019", "--limit-folds", "1", "--epochs", "1"]
    assert main([*base, "--data", str(megc), "--model", "nope"]) == 2
    assert "unknown micro-expression model" in capsys.readouterr().err
    assert main([*base, "--data", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    sub = build_parser()._subparsers._group_actions[0].choices["evaluate"]  # type: ignore[union-attr]
    micro = sub._subparsers._group_actions[0].choices["micro"]
    recipe = next(a for a in micro._actions if a.dest == "recipe")
    assert sorted(recipe.choices) == sorted(RECIPES)


def test_seed_ensemble_of_runs(megc) -> None:
    from emoscope.tasks.micro.loso import ensemble_runs

    data = load_megc2019(megc)
    runs = [run_loso(data, "micro_attn_plain", TINY, seed, limit_folds=3) for seed in (0, 1)]
    ens = ensemble_runs(runs)
    np.testing.assert_allclose(ens.probs, (runs[0].probs + runs[1].probs) / 2)
    assert "ensemble of seeds 0+1" in ens.recipe_name and ens.report()["n"] == runs[0].report()["n"]
    other = run_loso(data, "micro_attn_plain", TINY, 0, limit_folds=2)
    with pytest.raises(ValueError, match="same folds"):
        ensemble_runs([runs[0], other])


# ------------------------------------------------------------------------------------ recipe selection

LEARNS = MicroRecipe(epochs=25, batch_size=16, lr=5e-3)
STUCK = MicroRecipe(epochs=2, batch_size=16, lr=1e-7)  # cannot learn in 2 steps of this size


def test_inner_splits_are_subject_wise_and_cover_the_rows(data: MicroSet) -> None:
    from emoscope.errors import EmoscopeError
    from emoscope.tasks.micro.loso import inner_splits

    fold = loso_folds(data.subjects)[2]
    splits = inner_splits(data.subjects, fold.train, 3)
    assert len(splits) == 3
    val = np.concatenate([v for _, v in splits])
    assert np.array_equal(np.sort(val), np.sort(fold.train))  # each training row validated exactly once
    for tr, va in splits:
        assert not set(data.subjects[tr]) & set(data.subjects[va])
        assert fold.subject not in set(data.subjects[tr]) | set(data.subjects[va])
    with pytest.raises(EmoscopeError, match="between 2 and the number of subjects"):
        inner_splits(data.subjects, fold.train, 7)


def test_nested_loso_chooses_the_recipe_that_learns_and_reproduces_its_plain_loso(data: MicroSet) -> None:
    from emoscope.tasks.micro.loso import run_loso_nested, select_recipe

    cands = {"stuck": STUCK, "learns": LEARNS}
    nested = run_loso_nested(data, "micro_attn_plain", cands, seed=0, inner_folds=3, limit_folds=2)
    sel = nested.selection
    assert sel["chosen_counts"] == {"stuck": 0, "learns": 2} and sel["inner_folds"] == 3
    for scores in (v["inner"] for v in sel["per_fold"].values()):
        assert scores["learns"]["uf1"] > scores["stuck"]["uf1"] + 0.3
    plain = run_loso(data, "micro_attn_plain", LEARNS, seed=0, limit_folds=2)
    assert np.array_equal(nested.probs, plain.probs)  # the chosen recipe, trained as in plain LOSO
    rep = nested.report()
    assert rep["selection"]["chosen_counts"]["learns"] == 2 and "nested selection" in rep["recipe"]
    # the selection inside a fold is select_recipe on that fold's training subjects, nothing else
    fold = loso_folds(data.subjects)[0]
    name, scores = select_recipe(data, "micro_attn_plain", cands, 0, inner_folds=3, rows=fold.train)
    assert name == "learns" and scores == sel["per_fold"][fold.subject]["inner"]


def test_nested_selection_never_reads_the_held_out_subject(data: MicroSet) -> None:
    from emoscope.tasks.micro.loso import run_loso_nested

    cands = {"a": TINY, "b": MicroRecipe(epochs=3, batch_size=16, lr=3e-3)}
    fold = loso_folds(data.subjects)[0]
    spoiled_labels = data.labels.copy()
    spoiled_flow = data.flow.copy()
    spoiled_labels[fold.test] = (spoiled_labels[fold.test] + 1) % 3
    spoiled_flow[fold.test] = 1.0 - spoiled_flow[fold.test]
    spoiled = dataclasses.replace(data, labels=spoiled_labels, flow=spoiled_flow)
    a = run_loso_nested(data, "micro_attn_plain", cands, 0, inner_folds=3, limit_folds=1)
    b = run_loso_nested(spoiled, "micro_attn_plain", cands, 0, inner_folds=3, limit_folds=1)
    assert a.folds_run == [0] and a.selection["per_fold"] == b.selection["per_fold"]
    assert not np.array_equal(a.y_true, b.y_true)  # the held-out subject did change


def test_selection_needs_two_known_candidates(data: MicroSet) -> None:
    from emoscope.errors import EmoscopeError
    from emoscope.tasks.micro.loso import run_loso_nested, select_recipe

    with pytest.raises(EmoscopeError, match="two or more"):
        select_recipe(data, "micro_attn_plain", ["default"])
    with pytest.raises(EmoscopeError, match="unknown recipe"):
        run_loso_nested(data, "micro_attn_plain", ["default", "fancy"])


def test_cli_nested_evaluation_and_selected_training(megc: Path, tmp_path: Path, capsys) -> None:
    base = ["evaluate", "micro", "--dataset", "megc2019", "--data", str(megc), "--model", "micro_ststnet",
            "--limit-folds", "1", "--epochs", "1", "--inner-folds", "2"]  # fmt: skip
    assert main([*base, "--select-recipe", "default,warp", "--json"]) == 0
    cap = capsys.readouterr()
    rep = _last_json(cap.out)
    run = rep["runs"][0]
    assert (
        run["selection"]["candidates"] == ["default", "warp"]
        and sum(run["selection"]["chosen_counts"].values()) == 1
    )
    assert "recipe chosen per fold" in cap.err and "inner trainings" in cap.err
    assert main([*base, "--select-recipe", "default"]) == 2
    assert "two or more distinct" in capsys.readouterr().err
    assert main([*base, "--select-recipe", "default,warp", "--recipe", "mixup"]) == 2
    assert "not both" in capsys.readouterr().err
    out = tmp_path / "m.onnx"
    argv = ["train", "micro", "--data", str(megc), "--model", "micro_ststnet", "--out", str(out),
            "--select-recipe", "default,mixup", "--inner-folds", "2"]  # fmt: skip
    assert main(argv) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    sel = meta["recipe_selection"]
    assert sel["chosen"] == meta["recipe"] in ("default", "mixup") and set(sel["scores"]) == {
        "default",
        "mixup",
    }
    assert "recipe selection" in capsys.readouterr().out
