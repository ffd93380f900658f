"""A model of another task given where a valence/arousal model is expected: a ModelError naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from emoscope.cli import main
from emoscope.errors import ModelError
from emoscope.tasks.affect.va import VARegressor
from emoscope.tasks.expression.predictor import DEFAULT_MODEL
from emoscope.tasks.micro.predictor import DEFAULT_MICRO_MODEL


@pytest.mark.parametrize("model, task", [(DEFAULT_MODEL, "expression"), (DEFAULT_MICRO_MODEL, "micro")])
def test_not_a_va_model(model, task):
    with pytest.raises(ModelError, match=rf"{model.name}: not a valence/arousal model \(task '{task}'\)"):
        VARegressor(model)


def test_predict_with_an_expression_model_as_va_model(tmp_path, capsys):
    import cv2

    img = tmp_path / "face.png"
    cv2.imwrite(str(img), np.full((48, 48), 128, np.uint8))
    assert main(["predict", "--aligned", "--va-model", str(DEFAULT_MODEL), str(img)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a valence/arousal model (task 'expression')" in err[0]
