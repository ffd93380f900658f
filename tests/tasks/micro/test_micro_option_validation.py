"""'train micro' / 'evaluate micro' check their output paths and side files before any training or LOSO run."""

import os

import pytest
from checks import cli_error

from emoscope.cli import main


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_train_micro_refuses_an_unwritable_out_before_training(capsys, megc, monkeypatch):
    import emoscope.tasks.micro.export as ex

    monkeypatch.setattr(ex, "train_and_export", lambda *a, **k: pytest.fail("trained before checking --out"))
    assert main(["train", "micro", "--data", str(megc), "--out", "/proc/m.onnx"]) == 2
    err = cli_error(capsys)
    assert "/proc/m.onnx" in err and "partial" not in err and ".tmp" not in err


@pytest.mark.parametrize("option", ["--loso-json", "--calibrate-from"])
def test_train_micro_refuses_a_device_as_side_file(capsys, megc, tmp_path, option):
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    assert main(["train", "micro", "--data", str(megc), "--out", str(tmp_path / "m.onnx"), option, "/dev/zero"]) == 2
    err = cli_error(capsys)
    assert "/dev/zero" in err and "regular file" in err


def test_side_file_size_cap(tmp_path, monkeypatch):
    import emoscope.tasks.micro.export as ex
    from emoscope.errors import InputError

    big = tmp_path / "loso.json"
    big.write_text("{}\n" * 10)
    monkeypatch.setattr(ex, "MAX_SIDE_FILE_BYTES", 8)
    with pytest.raises(InputError, match="too large"):
        ex.read_loso_summary(big)


def test_evaluate_micro_refuses_predictions_inside_data(capsys, megc):
    label_csv = next(megc.glob("*.csv"))
    before = label_csv.read_bytes()
    for target in (label_csv, megc / "preds.csv"):
        assert main(["evaluate", "micro", "--dataset", "megc2019", "--data", str(megc), "--limit-folds", "1",
                     "--epochs", "1", "--predictions", str(target)]) == 2  # fmt: skip
        assert "dataset folder" in cli_error(capsys)
    assert label_csv.read_bytes() == before and not (megc / "preds.csv").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_evaluate_micro_refuses_unwritable_predictions_before_loso(capsys, megc, monkeypatch):
    import emoscope.tasks.micro.loso as loso

    monkeypatch.setattr(loso, "run_loso", lambda *a, **k: pytest.fail("LOSO ran before checking --predictions"))
    assert main(["evaluate", "micro", "--dataset", "megc2019", "--data", str(megc), "--limit-folds", "1",
                 "--predictions", "/proc/x.csv"]) == 2  # fmt: skip
    assert "/proc/x.csv" in cli_error(capsys)
