"""Valence / arousal regression: train on generated AffectNet-format faces, export, evaluate; the trained model must
clearly beat the same network untrained."""

import json

import numpy as np
import pytest
import torch
from synthetic_affect import write_affectnet_csv

from emoscope.cli import main
from emoscope.evaluation.metrics import ccc
from emoscope.tasks.affect.va import VARegressor, evaluate_va, va_report
from emoscope.tasks.affect.va_train import VA_HEADS, build_va_model, ccc_loss, export_va

WIDTHS = "8,16,32,64"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("va_data")
    train = write_affectnet_csv(root, "training.csv", 320, seed=0, no_va_rows=4)
    val = write_affectnet_csv(root, "validation.csv", 96, seed=1)
    return train, val


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """Train (CLI) and export a small VA network; returns (run folder, onnx)."""
    train, val = data
    run = tmp_path_factory.mktemp("va_run")
    assert main(["train", "va", "--train-csv", str(train), "--val-csv", str(val), "--out", str(run),
                 "--model", "expr_resnet_plain", "--widths", WIDTHS, "--epochs", "6", "--batch-size", "32",
                 "--lr", "3e-3", "--threads", "1", "--seed", "0"]) == 0  # fmt: skip
    assert main(["export", "va", str(run / "best.pt"), "--out", str(run / "va.onnx")]) == 0
    return run, run / "va.onnx"


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """The same network, randomly initialised, exported the same way."""
    d = tmp_path_factory.mktemp("va_untrained")
    torch.manual_seed(0)
    net = build_va_model("expr_resnet_plain", [int(w) for w in WIDTHS.split(",")])
    torch.save({"task": "va", "model_name": "expr_resnet_plain", "widths": [int(w) for w in WIDTHS.split(",")],
                "heads": VA_HEADS, "state_dict": net.state_dict(), "epoch": 0, "config": {}}, d / "best.pt")  # fmt: skip
    export_va(d / "best.pt", d / "va.onnx")
    return d / "va.onnx"


def test_training_improves_ccc_clearly_over_an_untrained_model(data, trained, untrained, capsys):
    _, val = data
    run, onnx = trained
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 7))
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    before = evaluate_va(val, model=untrained)
    assert main(["evaluate", "va", "--csv", str(val), "--model", str(onnx), "--json"]) == 0
    after = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert after["va_source"] == "model" and after["n"] == 96
    for dim in ("valence", "arousal"):
        assert after[dim]["ccc"] > 0.6, dim
        assert after[dim]["ccc"] > before[dim]["ccc"] + 0.4, dim
        assert after[dim]["rmse"] < before[dim]["rmse"], dim
    meta = json.loads(onnx.with_suffix(".json").read_text())
    assert meta["task"] == "va" and meta["outputs"] == ["valence", "arousal"]
    assert meta["val"]["val_mean_ccc"] == pytest.approx(
        after["mean_ccc"], abs=1e-3
    )  # same figure, ONNX vs torch


def test_va_model_in_predict_output(trained, tiny_model, data, capsys):
    _, onnx = trained
    train, _ = data
    img = next(train.parent.glob("0/*.jpg"))
    assert (
        main(
            ["predict", "--aligned", "--json", "--model", str(tiny_model), "--va-model", str(onnx), str(img)]
        )
        == 0
    )
    face = json.loads(capsys.readouterr().out.strip())["faces"][0]
    assert face["va_source"] == "model" and -1 <= face["valence"] <= 1 and -1 <= face["arousal"] <= 1
    assert "compound" not in face  # the tiny model has no fitted compound rule
    reg = VARegressor(onnx)
    assert reg.predict(np.zeros((0, 1, 48, 48), np.float32)).shape == (0, 2)


def test_derived_reading_can_be_scored_on_va_labels(data, tiny_model, capsys):
    _, val = data
    assert main(["evaluate", "va", "--csv", str(val), "--derived", "--expression-model", str(tiny_model),
                 "--json"]) == 0  # fmt: skip
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["va_source"] == "derived" and rep["n"] == 96 and -1 <= rep["valence"]["ccc"] <= 1


def test_ccc_loss_and_report_agree_with_the_metric():
    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, (50, 2))
    p = 0.5 * y + rng.normal(0, 0.2, (50, 2))
    expect = (ccc(y[:, 0], p[:, 0]) + ccc(y[:, 1], p[:, 1])) / 2
    assert 1 - float(ccc_loss(torch.tensor(p), torch.tensor(y))) == pytest.approx(expect, abs=1e-6)
    assert va_report(y, p)["mean_ccc"] == pytest.approx(expect)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        va_report(y[:, :1], p[:, :1])


def test_a_non_va_model_is_refused(tiny_model):
    with pytest.raises(ValueError, match="not a valence/arousal model"):
        VARegressor(tiny_model)
