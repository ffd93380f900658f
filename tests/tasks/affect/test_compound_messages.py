"""The compound commands have no --head option: a model without the FER+ head is refused in their words."""

from __future__ import annotations

import json
import shutil

import pytest

from emoscope.errors import UnknownHeadError
from emoscope.tasks.affect.compound import calibrate_compound
from emoscope.tasks.expression.predictor import DEFAULT_MODEL


def test_fer2013_only_model(tmp_path):
    shutil.copy(DEFAULT_MODEL, tmp_path / "m.onnx")
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    meta["heads"] = {"fer2013": meta["heads"]["fer2013"]}
    meta["default_head"] = "fer2013"
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(UnknownHeadError) as info:
        calibrate_compound(tmp_path / "m.onnx", tmp_path / "no-ferplus-data")
    msg = str(info.value)
    assert "--head" not in msg and "needs the model's 'ferplus' head" in msg and "m.onnx" in msg
