"""The command line, end to end, on a small model trained here and on generated images."""

import json
import shutil

import cv2
import numpy as np
import pytest
from synthetic import synthetic_face, write_fer2013_folder, write_ferplus_folder

from emoscope.cli import main


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


def test_predict_photos_detects_faces_annotates_and_reports_no_face(tiny_model, tmp_path, capsys):
    from emoscope.outputs.demo import schematic_face

    canvas = np.full((480, 640, 3), 200, np.uint8)
    canvas[100:292, 300:492] = schematic_face("smile")
    cv2.imwrite(str(tmp_path / "photo.png"), canvas)
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((240, 320, 3), 128, np.uint8))
    ann = tmp_path / "ann"
    rc = main(["predict", "--json", "--annotate", str(ann), "--model", str(tiny_model),
               str(tmp_path / "photo.png"), str(tmp_path / "blank.png")])  # fmt: skip
    assert rc == 0
    rows = {r["file"].split("/")[-1]: r for r in _json_lines(capsys.readouterr().out)}
    (face,) = rows["photo.png"]["faces"]
    x, y, w, h = face["box"]
    assert 280 <= x <= 340 and 90 <= y <= 170 and 90 <= w <= 220  # around the pasted face
    assert 0.5 < face["score"] <= 1
    assert rows["blank.png"]["faces"] == [] and "error" not in rows["blank.png"]
    written = sorted(p.name for p in ann.iterdir())
    assert written == ["00001_photo.png", "00002_blank.png"]
    assert cv2.imread(str(ann / "00001_photo.png")).shape == (480, 640, 3)


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


def test_evaluate_ferplus_protocols(tiny_model, tmp_path, capsys):
    """FER+ is scored on the authors' majority protocol by default; the plurality figure is reported beside it."""
    from emoscope.datasets import load_ferplus
    from emoscope.tasks.expression.predictor import ExpressionRecognizer

    root = write_ferplus_folder(tmp_path / "fp", {"FER2013Test": 8})
    votes = ["5,5,0,0,0,0,0,0,0,0",  # tie: plurality only (neutral)
             "0,4,3,3,0,0,0,0,0,0",  # no majority: plurality only (happiness)
             "0,0,6,1,1,1,1,0,0,0",  # lone votes dropped: surprise in both
             "0,0,0,7,3,0,0,0,0,0",  # sadness in both
             "0,0,0,0,8,0,0,0,2,0",  # anger in both
             "0,0,0,0,0,0,0,0,9,1",  # unknown: in neither
             "0,0,0,0,0,0,6,0,0,4",  # fear in both
             "0,0,0,0,0,0,0,3,2,2"]  # contempt: plurality only (3 of 7)
    label_csv = root / "FER2013Test" / "label.csv"
    rows = label_csv.read_text().splitlines()
    label_csv.write_text("".join(r[: r.index(")") + 3] + v + "\n" for r, v in zip(rows, votes, strict=True)))
    pred = ExpressionRecognizer(tiny_model).predict_proba(load_ferplus(root, "test").images).argmax(1)
    want = {"official": ([2, 3, 4, 6], [2, 3, 4, 6]), "plurality": ([0, 1, 2, 3, 4, 6, 7], [0, 1, 2, 3, 4, 6, 7])}
    reps = {}
    for protocol in ("official", "plurality"):
        argv = ["evaluate", "expression", "--dataset", "ferplus", "--data", str(root), "--split", "test",
                "--model", str(tiny_model), "--json", "--protocol", protocol]  # fmt: skip
        assert main(argv) == 0
        out = capsys.readouterr().out.strip().splitlines()
        reps[protocol] = rep = json.loads(out[-1])
        assert rep["protocol"] == protocol and f"{protocol} protocol" in out[0]
        assert any(line.startswith("FER+ official protocol: n=4 ") for line in out)
        idx, lab = want[protocol]
        assert rep["n"] == len(idx) and rep["excluded"] == 8 - len(idx)
        assert rep["accuracy"] == pytest.approx(np.mean(pred[idx] == np.array(lab)))
    assert reps["official"]["protocols"] == reps["plurality"]["protocols"]
    assert {p: r["n"] for p, r in reps["official"]["protocols"].items()} == {"official": 4, "plurality": 7}
    assert main(["evaluate", "expression", "--dataset", "ferplus", "--data", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["protocol"] == "official"


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


def test_models_lists_architectures_and_both_shipped_models(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "micro_attn_plain" in out and "expr_resnet_cbam" in out
    assert "shipped expression model:" in out and "shipped micro-expression model:" in out
