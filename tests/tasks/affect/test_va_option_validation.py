"""Bad option values and output paths of 'train va' / 'export va' / 'evaluate va' are refused at once, with one
error line and exit status 2, before any data or checkpoint is read (no real training here)."""

import os

import pytest
import torch
from checks import argparse_error, cli_error

from emoscope.cli import main

BASE = ["train", "va", "--train-csv", "no-train.csv", "--val-csv", "no-val.csv"]


@pytest.mark.parametrize(
    "option,value",
    [("--epochs", "0"), ("--batch-size", "0"), ("--lr", "-1"), ("--lr", "nan"), ("--lr", "inf"),
     ("--weight-decay", "-1"), ("--weight-decay", "nan"), ("--threads", "-1"), ("--seed", "-1"),
     ("--seed", str(2**32)), ("--limit", "-1"), ("--device", "foo"), ("--widths", "a,b"),
     ("--widths", "0,0,0,0"), ("--widths", "8,-16,32,64")],
)  # fmt: skip
def test_train_va_refuses_bad_values(capsys, tmp_path, option, value):
    argparse_error(capsys, [*BASE, "--out", str(tmp_path / "run"), option, value], option)
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only PyTorch")
def test_train_va_refuses_cuda_without_cuda(capsys, tmp_path):
    assert "CUDA" in argparse_error(capsys, [*BASE, "--out", str(tmp_path), "--device", "cuda"], "--device")


def test_train_va_refuses_a_wrong_number_of_widths(capsys, tmp_path):
    assert main([*BASE, "--out", str(tmp_path / "run"), "--widths", "8"]) == 2
    assert "--widths" in cli_error(capsys) and not (tmp_path / "run").exists()


def test_train_va_refuses_a_micro_model(capsys, tmp_path):
    assert main([*BASE, "--out", str(tmp_path / "run"), "--model", "micro_attn"]) == 2
    assert "--model" in cli_error(capsys)


def test_train_va_refuses_a_file_as_out(capsys, tmp_path):
    f = tmp_path / "good.jpg"
    f.write_bytes(b"keep")
    assert main([*BASE, "--out", str(f)]) == 2
    assert str(f) in cli_error(capsys) and f.read_bytes() == b"keep"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_train_va_refuses_an_unwritable_out(capsys):
    assert main([*BASE, "--out", "/proc/te"]) == 2
    assert "/proc/te" in cli_error(capsys)


def test_evaluate_va_refuses_negative_limit(capsys):
    argparse_error(capsys, ["evaluate", "va", "--csv", "x.csv", "--derived", "--limit", "-1"], "--limit")


def test_export_va_refuses_out_equal_to_input(capsys, tmp_path):
    src = tmp_path / "best.onnx"
    src.write_bytes(b"input")
    assert main(["export", "va", str(src), "--out", str(src)]) == 2
    assert "input" in cli_error(capsys) and src.read_bytes() == b"input"


def test_export_va_needs_onnx_suffix_and_a_writable_folder(capsys, tmp_path):
    ck = tmp_path / "best.pt"
    ck.write_bytes(b"x")
    meta = tmp_path / "e.json"
    meta.write_text("keep")
    assert main(["export", "va", str(ck), "--out", str(tmp_path / "e.txt")]) == 2
    assert ".onnx" in cli_error(capsys) and meta.read_text() == "keep"
    (tmp_path / "good.jpg").write_bytes(b"keep")
    assert main(["export", "va", str(ck), "--out", str(tmp_path / "good.jpg" / "e.onnx")]) == 2
    assert "good.jpg" in cli_error(capsys)
    if os.path.isdir("/proc/self"):
        assert main(["export", "va", str(ck), "--out", "/proc/e.onnx"]) == 2
        err = cli_error(capsys)
        assert "/proc/e.onnx" in err and ".tmp" not in err


def test_export_va_api_refuses_out_equal_to_checkpoint(tmp_path, monkeypatch):
    import emoscope.tasks.affect.va_train as vt
    from emoscope.errors import OutputError

    ck = tmp_path / "best.onnx"
    ck.write_bytes(b"input")
    monkeypatch.setattr(vt, "_read_va_checkpoint", lambda p: {})
    monkeypatch.setattr(vt, "_va_model", lambda c, p: None)
    with pytest.raises(OutputError, match="input checkpoint"):
        vt.export_va(ck, ck)
    assert ck.read_bytes() == b"input"
