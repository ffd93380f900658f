"""The expression model that ships inside the package: present, small, documented, and as good as the README says."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.cli import main
from emoscope.faces.preprocess import prepare_faces
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


def test_shipped_int8_model_computes_what_it_means_on_this_cpu():
    """Signed int8 weights saturate in ONNX Runtime's AVX2 kernels on CPUs without VNNI (other logits on other
    CPUs); the shipped weights are stored unsigned, so the fused kernels agree with the plain QDQ graph here."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(DEFAULT_MODEL))
    dq = {n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    assert not [i.name for i in model.graph.initializer if i.name in dq and i.data_type == onnx.TensorProto.INT8]
    rng = np.random.default_rng(0)
    faces = prepare_faces([schematic_face(m) for m in ("smile", "frown", "surprise", "neutral")]).astype(np.float32)
    x = np.concatenate([np.clip(faces + rng.normal(0, s, faces.shape), 0, 255) for s in (0, 10, 30, 60)])
    x = x.astype(np.float32)

    def logits(level: ort.GraphOptimizationLevel) -> np.ndarray:
        so = ort.SessionOptions()
        so.graph_optimization_level, so.intra_op_num_threads = level, 1
        sess = ort.InferenceSession(str(DEFAULT_MODEL), so, providers=["CPUExecutionProvider"])
        return sess.run(["ferplus"], {"pixels": x})[0]

    fused, plain = logits(ort.GraphOptimizationLevel.ORT_ENABLE_ALL), logits(ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    assert (fused.argmax(1) == plain.argmax(1)).all()
    assert np.abs(fused - plain).max() < 0.15  # requantisation rounding only (saturation gave up to 0.57)


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
