"""A model that cannot be used: ModelError naming the file or the option, still catchable as the old types."""

from __future__ import annotations

import json
import shutil

import pytest

from emoscope.errors import EmoscopeError
from emoscope.tasks.expression.predictor import (
    ExpressionRecognizer,
    ModelError,
    ModelNotFoundError,
    UnknownHeadError,
)


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    """A copy of the tiny model (``m.onnx`` + ``m.json``) that a test may break."""
    shutil.copy(tiny_model, tmp_path / "m.onnx")
    shutil.copy(tiny_model.with_suffix(".json"), tmp_path / "m.json")
    return tmp_path / "m.onnx"


def test_not_an_onnx_file(model_copy):
    model_copy.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"m\.onnx: not a readable ONNX model") as info:
        ExpressionRecognizer(model_copy)
    assert isinstance(info.value, EmoscopeError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "meta, words",
    [
        ('{"heads": ', "not valid JSON"),
        ("[1, 2]", "no 'heads'"),
        (json.dumps({"heads": {"ferplus": {"temperature": 1.0}}}), "'ferplus' has no list of 'classes'"),
        (json.dumps({"heads": {"ferplus": {"classes": ["a"], "temperature": "hot"}}}), "bad temperature"),
    ],
)
def test_broken_metadata_names_the_json_file(model_copy, meta, words):
    model_copy.with_suffix(".json").write_text(meta)
    with pytest.raises(ModelError) as info:
        ExpressionRecognizer(model_copy)
    assert str(info.value).startswith(f"{model_copy.with_suffix('.json')}: ") and words in str(info.value)


def test_unknown_head_is_a_model_error_and_still_a_key_error(model_copy):
    with pytest.raises(UnknownHeadError) as info:
        ExpressionRecognizer(model_copy, head="nonsense")
    e = info.value
    assert isinstance(e, KeyError) and isinstance(e, EmoscopeError)
    assert (
        str(e) == f"{model_copy}: the model has no head 'nonsense' (--head); heads: fer2013, ferplus"
    )  # unquoted


def test_missing_files_are_model_errors_and_still_file_not_found(model_copy, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx: expression model not found") as info:
        ExpressionRecognizer(tmp_path / "nope.onnx")
    assert isinstance(info.value, ModelNotFoundError) and isinstance(info.value, EmoscopeError)
    model_copy.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match=r"m\.json: model metadata"):
        ExpressionRecognizer(model_copy)
    with pytest.raises(ModelNotFoundError, match="is a folder"):
        ExpressionRecognizer(tmp_path)


def test_metadata_head_missing_from_the_graph(model_copy):
    meta = json.loads(model_copy.with_suffix(".json").read_text())
    meta["heads"]["extra"] = {"classes": ["a", "b"]}
    model_copy.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="the ONNX graph has no output 'extra'"):
        ExpressionRecognizer(model_copy, head="extra")
    assert ExpressionRecognizer(model_copy).head == "ferplus"


# --- a model of another task, a metadata file of another .onnx, a bad thread count ---------------------------------


@pytest.fixture
def shipped_copy(tmp_path):
    """A copy of the shipped expression model (``s.onnx`` + ``s.json``, both files)."""
    from emoscope.tasks.expression.predictor import DEFAULT_MODEL

    shutil.copy(DEFAULT_MODEL, tmp_path / "s.onnx")
    shutil.copy(DEFAULT_MODEL.with_suffix(".json"), tmp_path / "s.json")
    return tmp_path / "s.onnx"


def test_a_va_model_is_not_an_expression_model(shipped_copy):
    shipped_copy.with_suffix(".json").write_text(json.dumps({"task": "va", "output": "va", "input_size": 48}))
    with pytest.raises(ModelError, match=r"s\.json: not an expression model \(task 'va'\)"):
        ExpressionRecognizer(shipped_copy)


def test_metadata_of_another_onnx_is_refused(shipped_copy):
    meta_path = shipped_copy.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["onnx_sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"s\.json: written for another \.onnx \(sha256 differs\); re-export or restore"):
        ExpressionRecognizer(shipped_copy)


def test_matching_sha256_loads(shipped_copy):
    assert ExpressionRecognizer(shipped_copy).classes


@pytest.mark.parametrize("threads", [-1, 100_000, "a", 1.5])
def test_bad_thread_counts(threads):
    with pytest.raises(ModelError, match="threads"):
        ExpressionRecognizer(threads=threads)
