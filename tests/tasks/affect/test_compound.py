"""Compound expressions: taxonomy, ground-truth protocol, the fitted rule, reports, calibration into the model
metadata, the CLI, and (with ../shared/data) the shipped model's measured figures."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from synthetic import write_ferplus_folder

from emoscope.cli import main
from emoscope.labels import FERPLUS_CLASSES
from emoscope.tasks.affect.compound import (
    COMPOUND_PAIRS,
    CompoundRule,
    calibrate_compound,
    compound_name,
    compound_report,
    compound_truth,
    fit_compound_rule,
    retemper,
    softmax,
)
from emoscope.tasks.expression.predictor import DEFAULT_MODEL

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
C = {c: i for i, c in enumerate(FERPLUS_CLASSES)}


def votes(**counts: int) -> list[float]:
    """One FER+ vote row from emotion=count keywords (plus unknown=, NF=)."""
    row = [0.0] * 10
    for k, v in counts.items():
        row[{"unknown": 8, "NF": 9}.get(k, C.get(k, -1))] = float(v)
    return row


def test_taxonomy_has_the_eleven_du_et_al_pairs_in_either_order():
    assert len(COMPOUND_PAIRS) == 11 and len({frozenset((a, b)) for _, a, b in COMPOUND_PAIRS}) == 11
    assert (
        compound_name("surprise", "happiness")
        == compound_name("happiness", "surprise")
        == "happily surprised"
    )
    assert compound_name("anger", "disgust") == "angrily disgusted"
    for absent in (
        ("happiness", "sadness"),
        ("happiness", "anger"),
        ("fear", "disgust"),
        ("neutral", "sadness"),
    ):
        assert compound_name(*absent) is None


def test_ground_truth_protocol():
    v = np.array([
        votes(happiness=4, surprise=3, neutral=3),  # second place tied at 3 -> ambiguous, left out
        votes(happiness=5, surprise=3, neutral=2),  # compound: happily surprised
        votes(neutral=5, sadness=5),                # both >= 3 but not a taxonomy pair -> single (neutral)
        votes(fear=6, surprise=2, anger=2),         # second has 2 < 3 -> single fear
        votes(unknown=6, anger=4),                  # majority unknown -> excluded
        votes(surprise=3, fear=7),                  # compound: fearfully surprised (order does not matter)
        votes(anger=4, disgust=3, unknown=3),       # compound: angrily disgusted
    ])  # fmt: skip
    t = compound_truth(v)
    names = [COMPOUND_PAIRS[j][0] if j >= 0 else None for j in t.pair]
    assert names == [None, "happily surprised", None, None, None, "fearfully surprised", "angrily disgusted"]
    assert t.tie.tolist() == [True, False, False, False, False, False, False]
    assert t.emotion.tolist() == [True, True, True, True, False, True, True]
    assert t.valid.tolist() == [False, True, True, True, False, True, True]
    assert t.majority[[2, 3]].tolist() == [C["neutral"], C["fear"]]


def test_rule_decides_on_the_top_two_and_the_threshold():
    rule = CompoundRule(FERPLUS_CLASSES, 1.0, 0.2)
    d = np.zeros((4, 8))
    d[0, [C["happiness"], C["surprise"], C["neutral"]]] = [0.6, 0.25, 0.15]  # compound
    d[1, [C["happiness"], C["surprise"], C["neutral"]]] = [0.7, 0.15, 0.15]  # second below 0.2 -> basic
    d[2, [C["neutral"], C["sadness"]]] = [0.5, 0.5]  # not a pair -> the top one
    d[3, [C["fear"], C["neutral"], C["surprise"]]] = [0.5, 0.3, 0.2]  # pair of 1st and 3rd does not count
    assert rule.labels(d) == [
        ("happily surprised", ("happiness", "surprise")),
        ("happiness", ("happiness",)),
        ("neutral", ("neutral",)),
        ("fear", ("fear",)),
    ]


def test_the_rule_reads_the_same_distribution_from_logits_or_calibrated_probabilities():
    z = np.random.default_rng(0).normal(0, 3, (20, 8))
    rule = CompoundRule(FERPLUS_CLASSES, 0.8, 0.15)
    calibrated = softmax(z, 0.55)
    assert rule.distribution(probs=calibrated, temperature=0.55) == pytest.approx(rule.distribution(logits=z))
    assert retemper(softmax(z, 1.0), 1.0, 2.0) == pytest.approx(softmax(z, 2.0))


def _annotated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random FER+-like votes and logits whose softmax at T = 0.7 is the (smoothed) vote share."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        k = rng.integers(0, 3)
        a, b = rng.choice(7, 2, replace=False)
        rows.append(votes(**{FERPLUS_CLASSES[a]: 10}) if k == 0 else
                    votes(**{FERPLUS_CLASSES[a]: int(rng.integers(5, 8)), FERPLUS_CLASSES[b]: 0})
                    if k == 1 else votes(**{FERPLUS_CLASSES[a]: 10 - (s := int(rng.integers(2, 6))),
                                             FERPLUS_CLASSES[b]: s}))  # fmt: skip
    v = np.array(rows)
    v[:, 8] = 10 - v[:, :8].sum(1)  # the rest of the 10 votes: unknown
    q = v[:, :8] / v[:, :8].sum(1, keepdims=True)
    return v, 0.7 * np.log(q + 1e-6)


def test_fit_recovers_the_temperature_and_a_threshold_matching_the_protocol():
    v, z = _annotated(600)
    rule, fit = fit_compound_rule(z, v)
    assert rule.distribution_temperature == pytest.approx(0.7, rel=0.03)
    # the model's distribution is the vote share: a second emotion is a compound part from 3 of 10 votes, so the
    # threshold lands between the shares of 2 and 3 votes
    assert fit["best_f1"] == pytest.approx(1.0)
    assert 0.195 <= rule.min_second <= 0.3
    assert fit["n_compound"] > 50 and sum(rule.prior) == pytest.approx(1.0)
    rep = compound_report(z, v, rule, reported_temperature=0.7)
    assert rep["compound_pair_accuracy"] == pytest.approx(1.0) and rep["detection"]["f1"] == pytest.approx(
        1.0
    )
    assert rep["distribution"]["reported"]["kl"] < 0.02 and rep["distribution"]["prior_baseline"]["kl"] > 0.5
    assert rep["intensity"]["ccc"] > 0.99


def test_report_figures_by_hand():
    v = np.array([
        votes(happiness=6, surprise=4),   # compound, predicted right
        votes(fear=5, surprise=5),        # compound, predicted basic
        votes(sadness=9, neutral=1),      # single, predicted compound (sadly angry)
        votes(neutral=10),                # single, predicted right
    ])  # fmt: skip
    d = np.full((4, 8), 0.01)
    d[0, [C["happiness"], C["surprise"]]] = [0.6, 0.34]
    d[1, [C["fear"], C["neutral"]]] = [0.8, 0.14]
    d[2, [C["sadness"], C["anger"]]] = [0.5, 0.44]
    d[3, C["neutral"]] = 0.93
    rule = CompoundRule(FERPLUS_CLASSES, 1.0, 0.3)
    rep = compound_report(np.log(d), v, rule)
    assert (rep["n"], rep["n_compound"], rep["n_single"], rep["ties"]) == (4, 2, 2, 0)
    assert rep["compound_pair_accuracy"] == 0.5 and rep["top2_pair_rate"] == 0.5
    assert rep["detection"]["precision"] == 0.5 and rep["detection"]["recall"] == 0.5
    assert rep["pair_f1"]["f1"] == pytest.approx(0.5)
    assert rep["label_accuracy"] == 0.5 and rep["single_accuracy"] == 0.5
    assert rep["per_pair"]["happily surprised"] == {"n": 1, "recall": 1.0, "predicted": 1}
    assert rep["per_pair"]["sadly angry"] == {"n": 0, "recall": None, "predicted": 1}


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    for suffix in (".onnx", ".json"):
        shutil.copy(tiny_model.with_suffix(suffix), tmp_path / f"m{suffix}")
    return tmp_path / "m.onnx"


@pytest.fixture(scope="module")
def ferplus(tmp_path_factory):
    return write_ferplus_folder(tmp_path_factory.mktemp("fp"), {"FER2013Valid": 64, "FER2013Test": 32})


def test_calibrate_writes_the_rule_into_the_metadata_and_predict_then_reports_compounds(
    model_copy, ferplus, capsys
):
    before = json.loads(model_copy.with_suffix(".json").read_text())
    assert (
        main(["calibrate", "compound", "--ferplus-data", str(ferplus), "--model", str(model_copy), "--json"])
        == 0
    )
    entry = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    meta = json.loads(model_copy.with_suffix(".json").read_text())
    assert meta["compound"] == entry
    assert {k: meta[k] for k in before} == before  # every other key kept
    assert entry["head"] == "ferplus" and "FER2013Valid" in entry["fitted_on"]
    assert entry["onnx_sha256"] == hashlib.sha256(model_copy.read_bytes()).hexdigest()
    assert entry["distribution_temperature"] > 0 and 0.05 <= entry["min_second"] <= 0.5
    assert not list(model_copy.parent.glob("*.tmp"))
    # re-running replaces the entry (re-fit after a re-export)
    assert calibrate_compound(model_copy, ferplus)["min_second"] == entry["min_second"]

    img = model_copy.parent / "face.png"
    import cv2
    from synthetic import synthetic_face

    cv2.imwrite(str(img), synthetic_face(1, 8, np.random.default_rng(0)))
    assert main(["predict", "--aligned", "--json", "--model", str(model_copy), str(img)]) == 0
    face = json.loads(capsys.readouterr().out.strip())["faces"][0]
    assert face["va_source"] == "derived" and -1 <= face["valence"] <= 1 and 0 <= face["intensity"] <= 1
    assert face["compound"] in (face["label"], *(n for n, _, _ in COMPOUND_PAIRS))
    assert face["compound_of"][0] == face["label"]
    assert main(["predict", "--aligned", "--json", "--no-affect", "--model", str(model_copy), str(img)]) == 0
    assert set(json.loads(capsys.readouterr().out.strip())["faces"][0]) == {
        "box",
        "score",
        "label",
        "probabilities",
    }

    assert main(["evaluate", "compound", "--dataset", "ferplus", "--data", str(ferplus), "--split", "test",
                 "--model", str(model_copy), "--json"]) == 0  # fmt: skip
    out = capsys.readouterr().out.strip().splitlines()
    rep = json.loads(out[-1])
    assert rep["split_name"] == "ferplus/FER2013Test" and rep["n"] == 32
    assert {"compound_pair_accuracy", "detection", "pair_f1", "distribution", "per_pair"} <= set(rep)
    assert 0 <= rep["distribution"]["reported"]["overlap"] <= 1
    assert any("compound-pair accuracy" in line for line in out)


def test_evaluate_without_a_fitted_rule_says_how_to_fit_it(model_copy, ferplus, capsys):
    assert main(["evaluate", "compound", "--dataset", "ferplus", "--data", str(ferplus),
                 "--model", str(model_copy)]) == 2  # fmt: skip
    assert "emoscope calibrate compound" in capsys.readouterr().err


def test_export_with_ferplus_data_fits_the_rule(ferplus, tmp_path):
    import torch

    from emoscope.models import create_model
    from emoscope.tasks.expression.export import export_and_calibrate

    torch.manual_seed(0)
    net = create_model("expr_resnet_plain")  # an untrained network is enough to exercise the export path
    ck = tmp_path / "best.pt"
    torch.save({"model_name": "expr_resnet_plain", "heads": {k: list(v) for k, v in net.config.heads.items()},
                "state_dict": net.state_dict(), "epoch": 0, "config": {}}, ck)  # fmt: skip
    meta = export_and_calibrate(ck, tmp_path / "m.onnx", ferplus=str(ferplus))
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["compound"]["head"] == "ferplus" and saved["compound"] == meta["compound"]
    assert saved["compound"]["onnx_sha256"] == saved["onnx_sha256"]


SHIPPED = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())


def test_shipped_model_carries_a_rule_fitted_for_its_own_weights_on_validation():
    entry = SHIPPED["compound"]
    assert entry["onnx_sha256"] == SHIPPED["onnx_sha256"]  # re-fit after every re-export
    assert "FER2013Valid" in entry["fitted_on"] and "Test" not in entry["fitted_on"].split(";")[0]
    assert CompoundRule.from_meta(SHIPPED, "ferplus") is not None
    assert CompoundRule.from_meta(SHIPPED, "fer2013") is None


# The figures the README reports for the shipped model on FER+ test.
README_COMPOUND = {
    "compound_pair_accuracy": 0.4477,
    "detection_f1": 0.4670,
    "pair_f1": 0.3815,
    "kl_reported": 0.4093,
}


@pytest.mark.data
def test_shipped_model_reproduces_the_readme_compound_figures(capsys):
    if not (DATA / "ferplus").is_dir():
        pytest.skip("../shared/data is absent")
    assert main(["evaluate", "compound", "--dataset", "ferplus", "--data", str(DATA / "ferplus"), "--split", "test",
                 "--threads", "1", "--json"]) == 0  # fmt: skip
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    got = {"compound_pair_accuracy": rep["compound_pair_accuracy"], "detection_f1": rep["detection"]["f1"],
           "pair_f1": rep["pair_f1"]["f1"], "kl_reported": rep["distribution"]["reported"]["kl"]}  # fmt: skip
    assert got == pytest.approx(README_COMPOUND, abs=5e-4)
