"""Micro-expression use on a user's frames: train+export on generated data, ONNX inference, the ``emoscope micro``
and ``emoscope train micro`` commands, and their bad-input errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic import synthetic_flow, write_megc2019_folder

from emoscope.cli import main
from emoscope.datasets import load_megc2019
from emoscope.features import NoFaceError, flow_to_input
from emoscope.outputs.demo import schematic_face
from emoscope.tasks.micro.export import temperature_from_predictions, train_and_export
from emoscope.tasks.micro.predictor import MicroRecognizer

pytest.importorskip("torch")
SUBJECTS = {"casme2": ["sub01", "sub02", "sub03"], "samm": ["006", "007"], "smic": ["s01", "s02"]}


@pytest.fixture(scope="module")
def megc(tmp_path_factory) -> Path:
    return write_megc2019_folder(tmp_path_factory.mktemp("megc"), SUBJECTS, per_subject=9)


@pytest.fixture(scope="module")
def micro_model(megc: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "micro.onnx"
    train_and_export(load_megc2019(megc), out, model="micro_attn", seed=0)
    return out


def _scene(mood: str) -> np.ndarray:
    img = np.full((360, 480, 3), 128, np.uint8)
    img[80:272, 140:332] = schematic_face(mood)
    return img


def test_export_metadata_and_predictions(micro_model: Path) -> None:
    meta = json.loads(micro_model.with_suffix(".json").read_text())
    assert meta["task"] == "micro" and meta["classes"] == ["negative", "positive", "surprise"]
    assert meta["trained_on"].startswith("megc2019: all 63 samples, 7 subjects")
    rec = MicroRecognizer(micro_model)
    rng = np.random.default_rng(5)
    x = np.stack([flow_to_input(synthetic_flow(k, rng)[:, :, :2]) for k in (0, 1, 2) for _ in range(4)])
    p = rec.predict_proba(x)
    assert p.shape == (12, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    # the synthetic classes are learnable: most new samples are recognised
    assert (p.argmax(1) == np.repeat([0, 1, 2], 4)).mean() >= 0.75
    assert rec.predict_proba(x[0]).shape == (1, 3)
    with pytest.raises(ValueError, match=r"\(N, 3, 28, 28\)"):
        rec.predict_proba(np.zeros((2, 2, 28, 28)))


def test_expression_model_is_refused(tmp_path: Path) -> None:
    from emoscope.tasks.expression.predictor import DEFAULT_MODEL

    with pytest.raises(ValueError, match="not a micro-expression model"):
        MicroRecognizer(DEFAULT_MODEL)
    with pytest.raises(FileNotFoundError, match="not found"):
        MicroRecognizer(tmp_path / "none.onnx")


def test_pair_and_clip(micro_model: Path) -> None:
    rec = MicroRecognizer(micro_model)
    res = rec.analyze_pair(_scene("neutral"), _scene("smile"))
    assert res.label in rec.classes and res.apex_frame == 1 and not res.apex_estimated
    assert res.box is not None and 0.5 < res.face_score <= 1
    assert res.motion > 0.2  # the mouth moved
    still = rec.analyze_pair(_scene("neutral"), _scene("neutral"))
    assert still.motion < 0.05
    clip = [_scene("neutral"), _scene("neutral"), _scene("surprise"), _scene("smile"), _scene("neutral")]
    res = rec.analyze_frames(clip)
    assert res.apex_estimated and res.apex_frame == 2  # the open mouth and raised brows move most
    assert res.motion_scores[0] == 0.0 and len(res.motion_scores) == 5
    assert rec.analyze_frames(clip, apex=3).apex_frame == 3
    d = res.to_dict()
    assert set(d["probabilities"]) == set(rec.classes) and json.loads(res.to_json()) == d
    assert list(res.to_dataframe().columns[:2]) == ["file", "label"]
    with pytest.raises(NoFaceError, match="frame 0: no face"):
        rec.analyze_pair(np.full((200, 200), 128, np.uint8), np.full((200, 200), 128, np.uint8))
    with pytest.raises(ValueError, match="must differ from the onset"):
        rec.analyze_frames(clip, apex=0)
    # already aligned crops skip detection
    crops = [cv2.resize(schematic_face(m), (128, 128)) for m in ("neutral", "surprise")]
    assert rec.analyze_frames(crops, aligned=True, apex=1).box is None


def test_temperature_from_loso_predictions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(0, 1, (300, 3))
    logits[np.arange(300), y] += 1.0
    p = np.exp(logits * 3) / np.exp(logits * 3).sum(1, keepdims=True)  # over-confident by a factor 3
    path = tmp_path / "pred.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "seed", "true", "p_negative", "p_positive", "p_surprise"])
        for i in range(300):
            w.writerow([f"s{i}", 0, ["negative", "positive", "surprise"][y[i]], *p[i]])
    fit = temperature_from_predictions(path, "micro_attn", ("negative", "positive", "surprise"))
    assert 2.0 < fit["temperature"] < 4.5
    assert fit["nll_after"] < fit["nll_before"]
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    from emoscope.errors import EmoscopeError

    with pytest.raises(EmoscopeError, match="not a predictions CSV"):
        temperature_from_predictions(tmp_path / "bad.csv", "m", ("negative", "positive", "surprise"))


def test_cli_train_and_micro(megc: Path, micro_model: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.onnx"
    loso = tmp_path / "loso.out"
    loso.write_text('some text\n{"model": "micro_attn_plain", "uf1": 0.5, "uar": 0.6, "seeds": [0]}\n')
    assert main(["train", "micro", "--data", str(megc), "--model", "micro_attn_plain", "--out", str(out),
                 "--loso-json", str(loso)]) == 0  # fmt: skip
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["loso"]["uf1"] == 0.5 and meta["model_name"] == "micro_attn_plain"
    assert main(["train", "micro", "--data", str(megc), "--model", "micro_attn", "--out", str(out),
                 "--loso-json", str(loso)]) == 2  # fmt: skip
    assert "not of micro_attn" in capsys.readouterr().err

    cv2.imwrite(str(tmp_path / "on.png"), _scene("neutral"))
    cv2.imwrite(str(tmp_path / "ap.png"), _scene("smile"))
    capsys.readouterr()
    assert main(["micro", str(tmp_path / "on.png"), str(tmp_path / "ap.png"), "--model", str(micro_model), "--json"]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["apex_frame"] == 1 and d["label"] in ("negative", "positive", "surprise")

    clip = tmp_path / "clip"
    clip.mkdir()
    for i, mood in enumerate(["neutral", "neutral", "surprise", "neutral"]):
        cv2.imwrite(str(clip / f"img{i + 9}.png"), _scene(mood))  # img9 .. img12: numeric, not name, order
    assert main(["micro", str(clip), "--model", str(micro_model)]) == 0
    text = capsys.readouterr().out
    assert "apex frame 2 (estimated" in text

    # bad input: clear message naming the file, exit code 2
    cv2.imwrite(str(tmp_path / "small.png"), _scene("smile")[:200])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "blank.png").write_bytes(cv2.imencode(".png", np.full((360, 480, 3), 128, np.uint8))[1].tobytes())
    cases = [
        ([str(tmp_path / "on.png"), str(tmp_path / "small.png")], "small.png: size 480x200 differs"),
        ([str(tmp_path / "on.png"), str(tmp_path / "empty.png")], "empty.png: file is empty"),
        ([str(tmp_path / "blank.png"), str(tmp_path / "ap.png")], "blank.png: no face found"),
        ([str(tmp_path / "missing")], "missing: does not exist"),
    ]
    for args, msg in cases:
        assert main(["micro", *args, "--model", str(micro_model)]) == 2
        assert msg in capsys.readouterr().err
    assert main(["micro", "a", "b", "c"]) == 2


def test_seed_ensemble_export(megc: Path, tmp_path: Path) -> None:
    out = tmp_path / "ens.onnx"
    assert main(["train", "micro", "--data", str(megc), "--model", "micro_attn_plain", "--seeds", "0,1",
                 "--out", str(out)]) == 0  # fmt: skip
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["ensemble"] == 2 and meta["seed"] == [0, 1]
    single = tmp_path / "one.onnx"
    train_and_export(load_megc2019(megc), single, model="micro_attn_plain", seed=1)
    rng = np.random.default_rng(9)
    x = np.stack([flow_to_input(synthetic_flow(k, rng)[:, :, :2]) for k in (0, 1, 2)])
    p_ens = MicroRecognizer(out).predict_proba(x)
    p_one = MicroRecognizer(single).predict_proba(x)
    np.testing.assert_allclose(p_ens.sum(axis=1), 1, atol=1e-5)
    assert not np.allclose(p_ens, p_one, atol=1e-4)  # two networks averaged, not one
