"""Training, resume, export and ONNX inference on generated data (small and fast; no research data)."""

import json

import numpy as np
import pytest
import torch
from synthetic import write_fer2013_folder, write_ferplus_folder

from emoscope.datasets import load_fer2013
from emoscope.tasks.expression.export import export_and_calibrate, unsigned_int8_weights
from emoscope.tasks.expression.predictor import ExpressionRecognizer
from emoscope.tasks.expression.train import TrainConfig, load_checkpoint, train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    fer = write_fer2013_folder(root / "fer2013", {"Training": 40, "PublicTest": 6, "PrivateTest": 6})
    fp = write_ferplus_folder(root / "ferplus", {"FER2013Train": 96, "FER2013Valid": 32, "FER2013Test": 32})
    return fer, fp


def _cfg(out, fer, **kw):
    base = dict(out=str(out), model="expr_resnet_plain", labels="fer2013", fer2013=str(fer), epochs=6,
                batch_size=32, lr=0.05, ema=0, amp="none", threads=1, seed=0)  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    fer, _ = data
    out = tmp_path_factory.mktemp("run")
    best = train(_cfg(out, fer))
    return out, best


def test_training_learns_and_writes_its_run_folder(trained):
    out, best = trained
    for f in ("config.json", "best.pt", "last.pt", "log.jsonl", "log.csv"):
        assert (out / f).is_file(), f
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert best["val_fer2013_acc"] > 0.6  # chance is 1/7
    assert best["val_score"] == max(r["val_score"] for r in rows)
    assert json.loads((out / "config.json").read_text())["model"] == "expr_resnet_plain"


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(data, trained, tmp_path):
    fer, _ = data
    full_out, _ = trained
    part = tmp_path / "part"
    train(_cfg(part, fer, extra={"stop_after": 3}))
    assert len((part / "log.jsonl").read_text().splitlines()) == 3
    train(_cfg(part, fer), resume=True)
    assert len((part / "log.jsonl").read_text().splitlines()) == 6
    a = torch.load(full_out / "last.pt", weights_only=False)["model"]
    b = torch.load(part / "last.pt", weights_only=False)["model"]
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k


def test_soft_label_training_on_ferplus(data, tmp_path):
    _, fp = data
    best = train(_cfg(tmp_path, None, labels="ferplus", ferplus=str(fp), fer2013=None, epochs=3))
    assert "val_ferplus_acc" in best and "val_fer2013_acc" not in best


def test_export_matches_pytorch_and_calibrates(data, trained, tmp_path):
    fer, _ = data
    out, _ = trained
    onnx = tmp_path / "m.onnx"
    meta = export_and_calibrate(out / "best.pt", onnx, fer2013=str(fer))
    assert onnx.is_file() and (tmp_path / "m.json").is_file()
    head = meta["heads"]["fer2013"]
    assert head["temperature"] > 0 and head["val_nll_after"] <= head["val_nll_before"] + 1e-9
    test = load_fer2013(fer, "test")
    rec = ExpressionRecognizer(onnx, threads=1)
    assert rec.head == "fer2013" and len(rec.classes) == 7
    probs = rec.predict_proba(test.images)
    assert probs.shape == (len(test), 7)
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    torch_model = load_checkpoint(out / "best.pt")
    with torch.no_grad():
        ref = torch_model(torch.from_numpy(test.images).float()[:, None])["fer2013"].numpy()
    assert np.abs(rec.logits(test.images) - ref).max() < 1e-3
    # the same faces as colour crops of another size go through the shared preprocessing
    big = [np.repeat(np.kron(im, np.ones((2, 2), np.uint8))[:, :, None], 3, 2) for im in test.images[:5]]
    assert (rec.predict_proba(big).argmax(1) == probs[:5].argmax(1)).mean() >= 0.8
    raw = ExpressionRecognizer(onnx, calibrated=False).predict_proba(test.images)
    assert (raw.argmax(1) == probs.argmax(1)).all()  # temperature never changes the ranking


def test_int8_export_with_flip_tta_keeps_the_predictions(data, trained, tmp_path):
    fer, _ = data
    out, _ = trained
    fp32 = export_and_calibrate(out / "best.pt", tmp_path / "f.onnx", fer2013=str(fer))
    q = export_and_calibrate(out / "best.pt", tmp_path / "q.onnx", fer2013=str(fer), int8=True, tta=True)
    assert q["tta"] is True and "int8" in q["quantized"]
    assert not (tmp_path / "q.fp32.onnx").exists()  # the intermediate float model is removed
    assert q["onnx_bytes"] < 0.5 * fp32["onnx_bytes"]
    assert "uint8" in q["quantized"]  # weights stored unsigned: no int8 saturation on CPUs without VNNI
    assert unsigned_int8_weights(tmp_path / "q.onnx") == 0
    test = load_fer2013(fer, "test")
    a = ExpressionRecognizer(tmp_path / "f.onnx").predict_proba(test.images)
    rec = ExpressionRecognizer(tmp_path / "q.onnx")
    assert rec.tta is True
    b = rec.predict_proba(test.images)
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.9
    # flip TTA: a face and its mirror image get the same answer
    assert np.allclose(rec.logits(test.images[:4]), rec.logits(test.images[:4, :, ::-1]), atol=1e-4)


def test_init_starts_a_new_schedule_from_a_checkpoint(data, trained, tmp_path):
    fer, _ = data
    out, best = trained
    second = train(_cfg(tmp_path / "c2", fer, epochs=2, lr=0.01, init=str(out / "best.pt")))
    rows = [json.loads(line) for line in (tmp_path / "c2" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    # a warm start keeps what the first run learned: already at its level after one short epoch
    assert rows[0]["val_fer2013_acc"] >= best["val_fer2013_acc"] - 0.2
    assert second["val_fer2013_acc"] > 0.5
    assert json.loads((tmp_path / "c2" / "config.json").read_text())["init"] == str(out / "best.pt")


def test_init_refuses_a_missing_or_foreign_checkpoint(data, trained, tmp_path):
    from emoscope.errors import DatasetError

    fer, _ = data
    out, _ = trained
    with pytest.raises(DatasetError, match="not found"):
        train(_cfg(tmp_path / "a", fer, init=str(tmp_path / "nope.pt")))
    with pytest.raises(DatasetError, match="expr_resnet_plain"):
        train(_cfg(tmp_path / "b", fer, model="expr_resnet_cbam", init=str(out / "best.pt")))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DatasetError, match="junk.pt"):
        train(_cfg(tmp_path / "c", fer, init=str(junk)))


def test_several_checkpoints_export_as_one_ensemble_graph(data, trained, tmp_path):
    fer, fp = data
    out, _ = trained
    other = tmp_path / "other"
    train(_cfg(other, fer, epochs=2, seed=1))
    onnx = tmp_path / "ens.onnx"
    meta = export_and_calibrate([out / "best.pt", other / "best.pt"], onnx, fer2013=str(fer))
    assert meta["model_name"] == "ensemble(expr_resnet_plain, expr_resnet_plain)"
    assert [m["checkpoint"] for m in meta["members"]] == [str(out / "best.pt"), str(other / "best.pt")]
    assert meta["heads"]["fer2013"]["temperature"] > 0
    test = load_fer2013(fer, "test")
    x = torch.from_numpy(test.images).float()[:, None]
    with torch.no_grad():
        a, b = (load_checkpoint(p / "best.pt")(x)["fer2013"].numpy() for p in (out, other))
    assert np.abs(a - b).max() > 1e-2  # two different networks ...
    got = ExpressionRecognizer(onnx, calibrated=False).logits(test.images)
    assert np.abs(got - (a + b) / 2).max() < 1e-3  # ... whose mean logits the one graph computes
    # members must answer the same question
    soft = tmp_path / "soft"
    train(_cfg(soft, None, labels="ferplus", ferplus=str(fp), fer2013=None, epochs=1))
    with pytest.raises(ValueError, match="same heads"):
        export_and_calibrate([out / "best.pt", soft / "best.pt"], tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()
