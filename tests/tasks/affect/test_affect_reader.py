"""Affect readings on result objects: the API, FaceResult.to_dict and the DataFrame columns."""

import json
import shutil

import numpy as np
import pytest

from emoscope.api import Analyzer
from emoscope.labels import FERPLUS_CLASSES
from emoscope.outputs.demo import schematic_face
from emoscope.outputs.results import FaceResult, ImageResult, results_to_dataframe
from emoscope.tasks.affect.circumplex import CIRCUMPLEX
from emoscope.tasks.affect.compound import CompoundRule, update_metadata
from emoscope.tasks.affect.reader import AffectReader
from emoscope.tasks.expression.predictor import ExpressionRecognizer


def test_face_result_keeps_its_keys_without_readings_and_adds_them_when_set():
    f = FaceResult(box=(1, 2, 3, 4), label="happiness", probabilities={"happiness": 1.0})
    assert set(f.to_dict()) == {"box", "score", "label", "probabilities"}
    f.compound, f.compound_of, f.intensity = "happily surprised", ("happiness", "surprise"), 0.912345
    f.valence, f.arousal, f.va_source = 0.5, -0.25, "derived"
    d = f.to_dict()
    assert d["compound"] == "happily surprised" and d["compound_of"] == ["happiness", "surprise"]
    assert d["intensity"] == 0.9123 and d["va_source"] == "derived"
    df = results_to_dataframe([ImageResult("a.png", [f]), ImageResult("b.png", error="bad")])
    assert {"compound", "compound_of", "intensity", "valence", "arousal", "va_source"} <= set(df.columns)
    assert df.loc[0, "compound_of"] == "happiness+surprise" and df.loc[0, "intensity"] == pytest.approx(
        0.912345
    )
    assert df.loc[1, "error"] == "bad"


def test_reader_derives_from_the_rule_distribution():
    rule = CompoundRule(FERPLUS_CLASSES, 1.0, 0.2)
    reader = AffectReader(FERPLUS_CLASSES, temperature=1.0, rule=rule)
    p = np.zeros((2, 8))
    p[0, [1, 2]] = [0.6, 0.4]  # happiness + surprise
    p[1, 0] = 1.0
    a, b = reader.read(p)
    assert a.compound == "happily surprised" and a.compound_of == ("happiness", "surprise")
    assert a.valence == pytest.approx(0.6 * CIRCUMPLEX["happiness"][0] + 0.4 * CIRCUMPLEX["surprise"][0])
    assert a.intensity == pytest.approx(1.0) and a.va_source == "derived"
    assert b.compound == "neutral" and (b.intensity, b.valence, b.arousal) == pytest.approx((0.0, 0.0, 0.0))
    assert reader.read(np.zeros((0, 8))) == []
    with pytest.raises(ValueError, match="do not match"):
        AffectReader(FERPLUS_CLASSES[:7], rule=rule)


@pytest.fixture
def fitted_model(tiny_model, tmp_path):
    for suffix in (".onnx", ".json"):
        shutil.copy(tiny_model.with_suffix(suffix), tmp_path / f"m{suffix}")
    rule = CompoundRule(FERPLUS_CLASSES, 1.2, 0.1)
    update_metadata(tmp_path / "m.json", "compound", {"head": "ferplus", **rule.to_meta()})
    return tmp_path / "m.onnx"


def test_analyzer_adds_readings_when_the_model_has_a_rule_unless_told_not_to(tiny_model, fitted_model):
    face = schematic_face("surprise")
    plain = Analyzer(ExpressionRecognizer(tiny_model)).analyze_aligned(face)
    assert plain.faces[0].valence is None  # no fitted rule: the basic output only (as before P6)
    forced = Analyzer(ExpressionRecognizer(tiny_model), affect=True).analyze_aligned(face).faces[0]
    assert forced.compound is None and forced.va_source == "derived" and 0 <= forced.intensity <= 1
    auto = Analyzer(ExpressionRecognizer(fitted_model)).analyze_aligned(face).faces[0]
    assert auto.compound is not None and auto.compound_of[0] == auto.label
    off = Analyzer(ExpressionRecognizer(fitted_model), affect=False).analyze_aligned(face).faces[0]
    assert off.compound is None and off.valence is None
    # the fer2013 head has no rule of its own: no compound label, but intensity and valence/arousal
    f13 = Analyzer(ExpressionRecognizer(fitted_model, head="fer2013")).analyze_aligned(face).faces[0]
    assert f13.compound is None and f13.valence is not None
    d = json.loads(ImageResult("x", [auto]).to_json())["faces"][0]
    assert {"compound", "compound_of", "intensity", "valence", "arousal", "va_source"} <= set(d)


def test_shipped_model_reads_a_drawn_smile_as_pleasant():
    f = Analyzer(ExpressionRecognizer(threads=1)).analyze_aligned(schematic_face("smile")).faces[0]
    assert f.label == "happiness" and f.compound is not None
    assert f.valence > 0.2 and f.va_source == "derived"
