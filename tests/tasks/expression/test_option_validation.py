"""Bad option values and output paths of 'train expression' / 'export expression' are refused at once, with one
error line and exit status 2, before any data or checkpoint is read (no real training here)."""

import os
from pathlib import Path

import pytest
import torch
from checks import argparse_error, cli_error

from emoscope.cli import main

BASE = ["train", "expression", "--data", "no-such-data"]


@pytest.mark.parametrize(
    "option,value",
    [("--epochs", "0"), ("--batch-size", "0"), ("--lr", "-1"), ("--lr", "nan"), ("--lr", "inf"), ("--lr", "0"),
     ("--warmup", "1"), ("--warmup", "-0.1"), ("--warmup", "nan"), ("--label-smoothing", "1"),
     ("--label-smoothing", "-0.5"), ("--label-smoothing", "nan"), ("--ema", "1"), ("--ema", "-0.1"),
     ("--ema", "nan"), ("--weight-decay", "-1"), ("--weight-decay", "nan"), ("--threads", "-1"),
     ("--seed", "-1"), ("--seed", str(2**32)), ("--limit", "-1"), ("--device", "foo"), ("--device", "cuda:x")],
)  # fmt: skip
def test_train_expression_refuses_bad_values(capsys, tmp_path, option, value):
    argparse_error(capsys, [*BASE, "--out", str(tmp_path / "run"), option, value], option)
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only PyTorch")
def test_train_expression_refuses_cuda_without_cuda(capsys, tmp_path):
    err = argparse_error(capsys, [*BASE, "--out", str(tmp_path / "run"), "--device", "cuda"], "--device")
    assert "CUDA" in err


def test_train_expression_accepts_edge_values(tmp_path):
    from emoscope.cli import build_parser

    a = build_parser().parse_args([*BASE, "--out", str(tmp_path), "--warmup", "0", "--ema", "0", "--seed",
                                   str(2**32 - 1), "--device", "cpu", "--label-smoothing", "0"])  # fmt: skip
    assert (a.warmup, a.ema, a.seed, a.device) == (0.0, 0.0, 2**32 - 1, "cpu")


def test_train_expression_refuses_a_micro_model(capsys, tmp_path):
    assert main([*BASE, "--out", str(tmp_path / "run"), "--model", "micro_attn"]) == 2
    assert "--model" in cli_error(capsys) and not (tmp_path / "run").exists()


def test_train_expression_refuses_a_file_as_out(capsys, tmp_path):
    f = tmp_path / "good.jpg"
    f.write_bytes(b"keep")
    assert main([*BASE, "--out", str(f)]) == 2
    assert str(f) in cli_error(capsys) and f.read_bytes() == b"keep"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_train_expression_refuses_an_unwritable_out(capsys):
    assert main([*BASE, "--out", "/proc/te"]) == 2
    assert "/proc/te" in cli_error(capsys)


@pytest.fixture
def ckpt(tmp_path):
    p = tmp_path / "best.pt"
    p.write_bytes(b"not really a checkpoint")
    return p


def test_export_expression_refuses_out_equal_to_input(capsys, tmp_path):
    src = tmp_path / "model.onnx"  # an input named like an output
    src.write_bytes(b"input")
    assert main(["export", "expression", str(src), "--out", str(src)]) == 2
    assert "input" in cli_error(capsys) and src.read_bytes() == b"input"
    link = tmp_path / "link.onnx"
    os.link(src, link)  # the same file under another name
    assert main(["export", "expression", str(src), "--out", str(link)]) == 2
    assert str(link) in cli_error(capsys) and src.read_bytes() == b"input"


def test_export_expression_refuses_input_as_metadata(capsys, tmp_path):
    src = tmp_path / "e.json"
    src.write_bytes(b"input")
    assert main(["export", "expression", str(src), "--out", str(tmp_path / "e.onnx")]) == 2
    assert "e.json" in cli_error(capsys) and src.read_bytes() == b"input"


def test_export_expression_needs_onnx_suffix(capsys, tmp_path, ckpt):
    meta = tmp_path / "e.json"
    meta.write_text('{"keep": 1}')
    assert main(["export", "expression", str(ckpt), "--out", str(tmp_path / "e.txt")]) == 2
    assert ".onnx" in cli_error(capsys) and meta.read_text() == '{"keep": 1}'


def test_export_expression_refuses_out_under_a_file(capsys, tmp_path, ckpt):
    f = tmp_path / "good.jpg"
    f.write_bytes(b"keep")
    assert main(["export", "expression", str(ckpt), "--out", str(f / "e.onnx")]) == 2
    assert "good.jpg" in cli_error(capsys) and f.read_bytes() == b"keep"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_export_expression_refuses_an_unwritable_folder(capsys, ckpt):
    assert main(["export", "expression", str(ckpt), "--out", "/proc/e.onnx"]) == 2
    err = cli_error(capsys)
    assert "/proc/e.onnx" in err and ".tmp" not in err
    assert not list(Path(ckpt).parent.glob(".*tmp*"))


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_export_api_checks_the_output_folder_first(tmp_path, monkeypatch):
    import emoscope.tasks.expression.export as ex
    from emoscope.errors import OutputError

    monkeypatch.setattr(ex, "read_checkpoint", lambda c: pytest.fail("read the checkpoint before checking out"))
    with pytest.raises(OutputError, match="/proc/e.onnx"):
        ex.export_and_calibrate(tmp_path / "best.pt", "/proc/e.onnx")
    src = tmp_path / "m.onnx"
    src.write_bytes(b"input")
    with pytest.raises(OutputError, match="input checkpoint"):
        ex.export_and_calibrate(src, src)
