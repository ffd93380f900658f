"""The micro-expression model that ships inside the package: present, tiny, documented, and the network trained on
the composite (not a stub)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.labels import MICRO_CLASSES
from emoscope.tasks.micro.predictor import DEFAULT_MICRO_MODEL, MicroRecognizer

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "megc2019"
META = json.loads(DEFAULT_MICRO_MODEL.with_suffix(".json").read_text())


def test_shipped_micro_model_metadata_matches_the_file() -> None:
    assert DEFAULT_MICRO_MODEL.stat().st_size < 1_000_000
    assert META["onnx_sha256"] == hashlib.sha256(DEFAULT_MICRO_MODEL.read_bytes()).hexdigest()
    assert META["task"] == "micro" and tuple(META["classes"]) == MICRO_CLASSES
    assert META["trained_on"] == "megc2019: all 442 samples, 68 subjects"
    # calibrated on held-out (out-of-fold) LOSO predictions of the same model, and its LOSO figures recorded
    assert "held-out LOSO predictions of " + META["model_name"] in META["calibrated_on"]
    assert 0.3 < META["temperature"] < 3
    assert META["loso"]["seeds"] == [0] and 0.5 < META["loso"]["uf1"] < 1
    # the recipe was chosen by subject-wise CV, and the LOSO figure is that of the same selection done in every fold
    sel = META["recipe_selection"]
    assert (
        sel["chosen"] == META["recipe"]
        and set(sel["scores"]) == set(sel["candidates"])
        and len(sel["candidates"]) > 1
    )
    assert META["loso"]["recipe"].startswith("nested selection of " + ", ".join(sel["candidates"]))


@pytest.mark.data
def test_shipped_micro_model_fits_its_training_data() -> None:
    if not DATA.is_dir():
        pytest.skip("../shared/data is absent")
    from emoscope.datasets import load_megc2019
    from emoscope.evaluation.metrics import uf1_uar

    d = load_megc2019(DATA)
    p = MicroRecognizer(threads=1).predict_proba(d.flow)
    r = uf1_uar(d.labels, p.argmax(1), 3)
    # the training fit (NOT an accuracy estimate: that is the LOSO figure in the README) is far above chance
    assert r["uf1"] > 0.8, r
    assert np.allclose(p.sum(1), 1, atol=1e-5)
