"""The expression model that ships inside the package: present, small, documented, and as good as the README says."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.cli import main
from emoscope.labels import FER2013_CLASSES, FERPLUS_CLASSES
from emoscope.outputs.demo import schematic_face
from emoscope.tasks.expression.predictor import DEFAULT_MODEL, ExpressionRecognizer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
META = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())


def test_shipped_model_is_small_and_its_metadata_matches_the_file():
    assert DEFAULT_MODEL.stat().st_size <= 10_000_000
    assert META["onnx_sha256"] == hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
    assert META["default_head"] == "ferplus"
    assert tuple(META["heads"]["ferplus"]["classes"]) == FERPLUS_CLASSES
    assert tuple(META["heads"]["fer2013"]["classes"]) == FER2013_CLASSES
    for head in META["heads"].values():  # calibrated on the validation split, never the test split
        assert 0.2 < head["temperature"] < 5
        assert "Valid" in head["calibrated_on"] or "PublicTest" in head["calibrated_on"]


def test_shipped_model_runs_without_torch_and_gives_distributions():
    rec = ExpressionRecognizer(threads=1)
    faces = [schematic_face(m) for m in ("smile", "frown", "surprise", "neutral")]
    p = rec.predict_proba(faces)
    assert p.shape == (4, 8) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert rec.predict(faces)[0] == "happiness"  # a drawn smile is read as happiness
    assert rec.predict_proba(np.zeros((0, 1, 48, 48), np.float32)).shape == (0, 8)


def test_demo_command(capsys):
    assert main(["demo", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 4 and all(len(r["faces"]) == 1 for r in rows)


# The figures the README reports; the full evaluations take a few seconds each. FER+: the FER+ authors' majority
# protocol (the default) and the plurality labels (ambiguous images included).
README_FIGURES = {
    ("fer2013", "fer2013", "PrivateTest", None): "0.7060",
    ("ferplus", "ferplus", "test", "official"): "0.8680",
    ("ferplus", "ferplus", "test", "plurality"): "0.8285",
}


@pytest.mark.data
@pytest.mark.parametrize("dataset,folder,split,protocol", list(README_FIGURES))
def test_shipped_model_reproduces_the_readme_figures(dataset, folder, split, protocol, capsys):
    if not DATA.is_dir():
        pytest.skip("../shared/data is absent")
    argv = ["evaluate", "expression", "--dataset", dataset, "--data", str(DATA / folder), "--split", split,
            "--json", "--threads", "1"]  # fmt: skip
    assert main(argv + (["--protocol", protocol] if protocol else [])) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["accuracy"] == pytest.approx(float(README_FIGURES[(dataset, folder, split, protocol)]), abs=5e-4)
    if protocol:
        assert rep["protocol"] == protocol and rep["n"] == {"official": 3137, "plurality": 3545}[protocol]
