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
