"""Bad input to 'train va' / 'export va' is a clear error naming the file, and never costs what is already written
(generated AffectNet-format data; small and fast)."""

import json

import pytest
from checks import cli_error, snapshot
from synthetic_affect import write_affectnet_csv

from emoscope.cli import main

WIDTHS = "8,16,32,64"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("va_safety_data")
    return write_affectnet_csv(root, "training.csv", 48, seed=0), write_affectnet_csv(
        root, "validation.csv", 32, seed=1
    )


def _train(data, out, *extra):
    train, val = data
    return main(["train", "va", "--train-csv", str(train), "--val-csv", str(val), "--out", str(out),
                 "--model", "expr_resnet_plain", "--widths", WIDTHS, "--epochs", "1", "--batch-size", "16",
                 "--threads", "1", *extra])  # fmt: skip


def test_training_into_a_folder_holding_a_run_is_refused_unless_overwritten(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(data, run) == 0
    before = snapshot(run)
    assert _train(data, run, "--seed", "1") == 2  # log.jsonl used to be emptied here
    assert f"{run}: already holds a training run" in cli_error(capsys)
    assert snapshot(run) == before
    assert _train(data, run, "--seed", "1", "--overwrite") == 0
    assert [json.loads(line)["epoch"] for line in (run / "log.jsonl").read_text().splitlines()] == [1]
    assert json.loads((run / "config.json").read_text())["seed"] == 1


def test_a_missing_csv_leaves_no_run_folder(data, tmp_path, capsys):
    train, val = data
    out = tmp_path / "run"
    assert main(["train", "va", "--train-csv", str(tmp_path / "nope.csv"), "--val-csv", str(val),
                 "--out", str(out)]) == 2  # fmt: skip
    assert "nope.csv" in cli_error(capsys)
    assert not out.exists()


def test_export_of_a_file_that_is_not_a_va_checkpoint_keeps_the_previous_model(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(data, run) == 0
    models = tmp_path / "models"
    assert main(["export", "va", str(run / "best.pt"), "--out", str(models / "va.onnx")]) == 0
    before = snapshot(models)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert main(["export", "va", str(junk), "--out", str(models / "va.onnx")]) == 2
    assert f"{junk}: not a readable checkpoint" in cli_error(capsys)
    assert main(["export", "va", str(run / "last.pt"), "--out", str(models / "va.onnx")]) == 2
    assert f"{run / 'last.pt'}: not a best.pt written by 'emoscope train va'" in cli_error(capsys)
    assert snapshot(models) == before
