"""Bad input to 'train expression' / 'export expression' is a clear error naming the file, and never costs what is
already written: an earlier model, an earlier run folder (generated data; small and fast)."""

import json
import shutil

import pytest
import torch
from checks import cli_error, snapshot
from synthetic import write_fer2013_folder

from emoscope.cli import main
from emoscope.errors import DatasetError, EmoscopeError, InputError
from emoscope.tasks.expression.export import export_and_calibrate
from emoscope.tasks.expression.train import TrainConfig, train

TRAIN_ARGS = ["--labels", "fer2013", "--model", "expr_resnet_plain", "--epochs", "1", "--batch-size", "32",
              "--ema", "0", "--amp", "none", "--threads", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def fer(tmp_path_factory):
    return write_fer2013_folder(tmp_path_factory.mktemp("data") / "fer2013", {"Training": 8, "PublicTest": 4})


def _cfg(out, fer, **kw):
    base = dict(out=str(out), model="expr_resnet_plain", labels="fer2013", fer2013=str(fer), epochs=2,
                batch_size=32, lr=0.05, ema=0, amp="none", threads=1, seed=0)  # fmt: skip
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def run(fer, tmp_path_factory):
    """A finished 2-epoch run folder (copy it before changing anything in it)."""
    out = tmp_path_factory.mktemp("runs") / "run"
    train(_cfg(out, fer))
    return out


def test_export_with_bad_calibration_data_keeps_the_previous_model(fer, run, tmp_path, capsys):
    out = tmp_path / "e.onnx"
    export_and_calibrate(run / "best.pt", out, fer2013=str(fer))
    before = snapshot(tmp_path)
    assert json.loads((tmp_path / "e.json").read_text())["heads"]["fer2013"]["temperature"] != 1.0
    empty = tmp_path.parent / f"{tmp_path.name}_empty"
    empty.mkdir()
    assert (
        main(["export", "expression", str(run / "best.pt"), "--out", str(out), "--fer2013-data", str(empty)])
        == 2
    )
    assert str(empty) in cli_error(capsys)
    assert snapshot(tmp_path) == before  # the calibrated model and its .json as they were; no temporaries


def test_int8_export_without_fer2013_data_writes_nothing(run, tmp_path, capsys):
    assert (
        main(["export", "expression", str(run / "best.pt"), "--out", str(tmp_path / "e8.onnx"), "--int8"])
        == 2
    )
    assert "--fer2013-data" in cli_error(capsys)
    assert list(tmp_path.iterdir()) == []  # no stray e8.fp32.onnx / .json
    with pytest.raises(DatasetError):
        export_and_calibrate(run / "best.pt", tmp_path / "e8.onnx", int8=True)


def test_export_of_a_file_that_is_not_a_best_pt_is_a_clear_error(run, tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    out = tmp_path / "out" / "m.onnx"
    assert main(["export", "expression", str(junk), "--out", str(out)]) == 2
    assert f"{junk}: not a readable checkpoint" in cli_error(capsys)
    assert main(["export", "expression", str(run / "last.pt"), "--out", str(out)]) == 2
    assert f"{run / 'last.pt'}: not a best.pt" in cli_error(capsys)
    assert not (tmp_path / "out").exists()


def test_resume_from_a_corrupt_last_pt_is_a_clear_error(fer, run, tmp_path, capsys):
    part = tmp_path / "part"
    shutil.copytree(run, part)
    (part / "last.pt").write_bytes((run / "last.pt").read_bytes()[:1000])  # a truncated copy
    before = snapshot(part)
    assert main(["train", "expression", "--data", str(fer), "--out", str(part), "--resume", *TRAIN_ARGS]) == 2
    assert f"{part / 'last.pt'}: not a readable checkpoint" in cli_error(capsys)
    assert snapshot(part) == before


def test_resume_with_another_model_is_a_clear_error(fer, run, tmp_path):
    part = tmp_path / "part"
    shutil.copytree(run, part)
    with pytest.raises(InputError, match="started with --model expr_resnet_plain, not expr_resnet_cbam"):
        train(_cfg(part, fer, model="expr_resnet_cbam", epochs=3), resume=True)
    # a last.pt that does not say its model, in a folder without config.json: the weights themselves do not fit
    ck = torch.load(part / "last.pt", weights_only=False)
    ck.pop("model_name", None)
    torch.save(ck, part / "last.pt")
    (part / "config.json").unlink()
    before = snapshot(part)
    with pytest.raises(InputError, match=r"last\.pt: does not fit this run's --model expr_resnet_cbam"):
        train(_cfg(part, fer, model="expr_resnet_cbam", epochs=3), resume=True)
    assert snapshot(part) == before


def test_training_into_a_folder_holding_a_run_is_refused_unless_resumed_or_overwritten(
    fer, run, tmp_path, capsys
):
    again = tmp_path / "again"
    shutil.copytree(run, again)
    before = snapshot(again)
    assert main(["train", "expression", "--data", str(fer), "--out", str(again), *TRAIN_ARGS]) == 2
    assert f"{again}: already holds a training run" in cli_error(capsys)
    with pytest.raises(EmoscopeError, match="already holds a training run"):
        train(_cfg(again, fer, model="expr_resnet_cbam"))
    assert snapshot(again) == before
    train(_cfg(again, fer, epochs=1, seed=1), overwrite=True)  # explicitly: a new run replaces the old one
    rows = [json.loads(line) for line in (again / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1]
    assert len((again / "log.csv").read_text().splitlines()) == 2  # header + the new run's one epoch
    assert json.loads((again / "config.json").read_text())["seed"] == 1


def test_a_wrong_dataset_layout_leaves_no_run_folder(tmp_path, capsys):
    bad = tmp_path / "not_fer2013"
    bad.mkdir()
    out = tmp_path / "run"
    assert main(["train", "expression", "--data", str(bad), "--out", str(out), *TRAIN_ARGS]) == 2
    assert str(bad) in cli_error(capsys)
    assert not out.exists()
