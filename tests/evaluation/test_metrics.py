import numpy as np
import pytest

from emoscope.evaluation.metrics import classification_report, expected_calibration_error, format_report


def test_report_figures_match_hand_computation():
    classes = ("a", "b", "c")
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    probs = np.eye(3)[pred] * 0.7 + 0.1
    rep = classification_report(y, probs, classes)
    assert rep["n"] == 6
    assert rep["accuracy"] == pytest.approx(4 / 6)
    assert rep["per_class_recall"] == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.5})
    # F1: a: p=1/2 r=1/2 -> .5; b: p=2/3 r=1 -> .8; c: p=1 r=.5 -> 2/3
    assert rep["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert rep["uar"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert rep["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert rep["nll"] == pytest.approx(-np.mean(np.log([0.8, 0.1, 0.8, 0.8, 0.8, 0.1])))
    text = format_report(rep, classes)
    assert "accuracy=0.6667" in text and "confusion matrix" in text


def test_ece_is_zero_when_confidence_equals_accuracy_and_large_when_overconfident():
    y = np.array([0, 1] * 50)
    # confidence 0.5 everywhere, accuracy 0.5
    half = np.full((100, 2), 0.5)
    assert expected_calibration_error(half, y) == pytest.approx(0.0, abs=1e-9)
    # always 99 % sure of class 0, right half of the time
    over = np.tile([0.99, 0.01], (100, 1))
    assert expected_calibration_error(over, y) == pytest.approx(0.49, abs=1e-6)


def test_macro_figures_ignore_classes_absent_from_the_truth():
    y = np.array([0, 0, 1])
    probs = np.eye(3)[[0, 0, 1]]
    rep = classification_report(y, probs, ("a", "b", "c"))
    assert rep["macro_f1"] == 1.0 and rep["uar"] == 1.0
