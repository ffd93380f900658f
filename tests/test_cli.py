"""The command line, end to end, on a small model trained here and on generated images."""

import json
import shutil

import cv2
import numpy as np
import pytest
from synthetic import synthetic_face, write_fer2013_folder

from emoscope.cli import main
from emoscope.tasks.expression.export import export_onnx


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A randomly initialised network exported the way the shipped model is (ONNX + metadata)."""
    import torch

    from emoscope.labels import FER2013_CLASSES, FERPLUS_CLASSES
    from emoscope.models import create_model

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("model")
    net = create_model("expr_resnet_plain")
    export_onnx(net, d / "m.onnx")
    meta = {"input_size": 48, "default_head": "ferplus",
            "heads": {"ferplus": {"classes": list(FERPLUS_CLASSES), "temperature": 1.5},
                      "fer2013": {"classes": list(FER2013_CLASSES), "temperature": 1.0}}}  # fmt: skip
    (d / "m.json").write_text(json.dumps(meta))
    return d / "m.onnx"


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "imgs"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), synthetic_face(1, 7, rng))
    colour = cv2.cvtColor(cv2.resize(synthetic_face(2, 7, rng), (120, 100)), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(d / "b.jpg"), colour)
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (d / "empty.png").write_bytes(b"")
    return d


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.strip().splitlines()]


def test_predict_aligned_json_reports_every_file_and_keeps_going(tiny_model, images, capsys):
    rc = main(["predict", "--aligned", "--json", "--model", str(tiny_model), str(images)])
    rows = {r["file"].split("/")[-1]: r for r in _json_lines(capsys.readouterr().out)}
    assert rc == 0
    assert set(rows) == {"a.png", "b.jpg", "broken.jpg", "empty.png"}
    b = rows["b.jpg"]
    assert b["faces"][0]["box"] == [0, 0, 120, 100]
    probs = b["faces"][0]["probabilities"]
    assert len(probs) == 8 and "contempt" in probs and abs(sum(probs.values()) - 1) < 1e-4
    assert b["faces"][0]["label"] == max(probs, key=probs.get)
    assert "corrupt" in rows["broken.jpg"]["error"] or "not an image" in rows["broken.jpg"]["error"]
    assert rows["empty.png"]["faces"] == [] and "empty" in rows["empty.png"]["error"]


def test_predict_exits_nonzero_only_when_every_input_failed(tiny_model, images, capsys):
    assert main(["predict", "--aligned", "--json", "--model", str(tiny_model), str(images / "broken.jpg"),
                 str(images / "missing.png")]) == 1  # fmt: skip
    rows = _json_lines(capsys.readouterr().out)
    assert [r["file"].split("/")[-1] for r in rows] == ["broken.jpg", "missing.png"]
    assert "does not exist" in rows[1]["error"]


def test_predict_fer2013_head_and_text_output(tiny_model, images, capsys):
    assert main(["predict", "--aligned", "--head", "fer2013", "--model", str(tiny_model), str(images / "a.png")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(str(images / "a.png")) and any(c in out for c in ("anger", "happiness", "neutral"))


def test_predict_without_aligned_says_detection_is_not_available(tiny_model, images, capsys):
    assert main(["predict", "--model", str(tiny_model), str(images / "a.png")]) == 2
    assert "--aligned" in capsys.readouterr().err


def test_evaluate_json_last_line(tiny_model, tmp_path, capsys):
    data = write_fer2013_folder(tmp_path / "fer", {"PrivateTest": 3})
    png = tmp_path / "cm.png"
    rc = main(["evaluate", "expression", "--dataset", "fer2013", "--data", str(data), "--split", "PrivateTest",
               "--model", str(tiny_model), "--json", "--confusion-png", str(png)])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out.strip().splitlines()
    rep = json.loads(out[-1])
    assert rep["n"] == 21 and rep["head"] == "fer2013"
    assert {"accuracy", "macro_f1", "per_class_recall", "ece", "confusion"} <= set(rep)
    assert set(rep["per_class_recall"]) == {"anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"}
    assert png.is_file() and png.stat().st_size > 1000
    assert any("confusion matrix" in line for line in out)


def test_evaluate_generic_folder_maps_class_names(tiny_model, tmp_path, capsys):
    data = write_fer2013_folder(tmp_path / "fer", {"PrivateTest": 2})
    shutil.rmtree(data / "test" / "angry")  # keep 6 emotions, folder spelling 'happy', 'sad', ...
    assert main(["evaluate", "expression", "--dataset", "folder", "--data", str(data / "test"),
                 "--model", str(tiny_model), "--json"]) == 0  # fmt: skip
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["n"] == 12 and rep["head"] == "ferplus"


def test_evaluate_bad_dataset_path_is_a_clear_error(tiny_model, tmp_path, capsys):
    rc = main(["evaluate", "expression", "--dataset", "fer2013", "--data", str(tmp_path / "nope"),
               "--model", str(tiny_model)])  # fmt: skip
    assert rc == 2
    assert "nope" in capsys.readouterr().err
