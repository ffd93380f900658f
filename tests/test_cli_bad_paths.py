"""``emoscope predict`` / ``evaluate`` / ``main`` with bad output paths, bad model options and odd inputs: one clear
``emoscope: error: <path>: <problem>`` (exit 2), never a traceback."""

import json

import cv2
import pytest

import emoscope.cli as cli
from emoscope.cli import main
from emoscope.outputs.demo import schematic_face


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    cv2.imwrite(str(d / "good.jpg"), schematic_face("smile"))
    cv2.imwrite(str(d / "one.png"), schematic_face("frown"))
    return d


def test_predict_annotate_into_a_file_is_one_error_at_the_start(tiny_model, photos, tmp_path, capsys):
    ann = tmp_path / "annfile.jpg"
    ann.write_bytes(b"x")
    rc = main(["predict", str(photos / "good.jpg"), str(photos / "one.png"), "--annotate", str(ann),
               "--model", str(tiny_model)])  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 2 and cap.out == ""
    assert cap.err.strip() == f"emoscope: error: {ann}: is a file; --annotate must be a folder"
    assert ann.read_bytes() == b"x"


def test_predict_empty_folder_names_it_once(tiny_model, tmp_path, capsys):
    (tmp_path / "emptydir").mkdir()
    assert main(["predict", str(tmp_path / "emptydir"), "--model", str(tiny_model)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"{tmp_path / 'emptydir'}: error: folder contains no image files"
    assert main(["predict", str(tmp_path / "emptydir"), "--model", str(tiny_model), "--json"]) == 1
    row = json.loads(capsys.readouterr().out)
    assert row["file"] == str(tmp_path / "emptydir") and row["error"] == "folder contains no image files"


def test_predict_special_files_are_per_input_errors(tiny_model, photos, tmp_path, capsys):
    rc = main(
        ["predict", "--aligned", "--json", "--model", str(tiny_model), "/dev/zero", str(photos / "good.jpg")]
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 0 and "not a regular file" in rows[0]["error"] and rows[1]["faces"]


@pytest.mark.parametrize("command", ["predict", "batch"])
def test_bad_model_files_and_head_are_clear_errors(tiny_model, photos, tmp_path, capsys, command):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"junk")
    (tmp_path / "bad.json").write_text(tiny_model.with_suffix(".json").read_text())
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(tiny_model.read_bytes())
    (tmp_path / "broken.json").write_text('{"heads": ')
    extra = ["--out", str(tmp_path / "res"), "--workers", "1", "--quiet"] if command == "batch" else []
    for opts, words in (
        (["--model", str(bad)], f"{bad}: not a readable ONNX model"),
        (["--model", str(broken)], f"{tmp_path / 'broken.json'}: model metadata is not valid JSON"),
        (
            ["--model", str(tiny_model), "--head", "nonsense"],
            f"{tiny_model}: the model has no head 'nonsense'",
        ),
    ):
        rc = main([command, str(photos), *opts, *extra])
        err = capsys.readouterr().err
        assert rc == 2 and f"emoscope: error: {words}" in err and "Traceback" not in err


def test_evaluate_confusion_png_into_a_folder_is_refused_before_evaluating(
    tiny_model, tmp_path, capsys, monkeypatch
):
    import emoscope.tasks.expression.evaluate as ev

    def evaluate(*a, **k):
        raise AssertionError("evaluated before the output was checked")

    monkeypatch.setattr(ev, "evaluate_expression", evaluate)
    (tmp_path / "emptydir").mkdir()
    rc = main(["evaluate", "expression", "--dataset", "fer2013", "--data", str(tmp_path), "--model", str(tiny_model),
               "--confusion-png", str(tmp_path / "emptydir")])  # fmt: skip
    assert rc == 2
    assert f"emoscope: error: {tmp_path / 'emptydir'}: is a folder; --confusion-png needs a file name" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "exc, message",
    [
        (
            IsADirectoryError(21, "Is a directory", ".out.123.tmp.csv", None, "out.csv"),
            "out.csv: Is a directory",
        ),
        (PermissionError(13, "Permission denied", "/x/y.png"), "/x/y.png: Permission denied"),
        (OSError("something odd"), "something odd"),
        (FileNotFoundError("m.onnx: expression model not found"), "m.onnx: expression model not found"),
    ],
)
def test_main_turns_a_stray_os_error_into_a_message(monkeypatch, capsys, exc, message):
    def fail(a):
        raise exc

    monkeypatch.setattr(cli, "_run_models", fail)
    assert main(["models"]) == 2
    assert capsys.readouterr().err.strip() == f"emoscope: error: {message}"


def test_main_keeps_ctrl_c_as_130(monkeypatch, capsys):
    def interrupt(a):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run_models", interrupt)
    assert main(["models"]) == 130
    assert "interrupted" in capsys.readouterr().err
