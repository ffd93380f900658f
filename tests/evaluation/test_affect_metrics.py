"""CCC, RMSE, distribution distances and binary P/R/F1 against hand computations."""

import numpy as np
import pytest

from emoscope.evaluation.metrics import binary_prf, ccc, distribution_overlap, kl_divergence, rmse


def test_ccc_is_one_for_identity_and_penalises_bias_and_scale_unlike_pearson():
    y = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    assert ccc(y, y) == pytest.approx(1.0)
    assert ccc(y, -y) == pytest.approx(-1.0)
    # shifted by 0.5: var 0.5 each, cov 0.5 -> 2 * 0.5 / (0.5 + 0.5 + 0.25) = 0.8 (Pearson would say 1)
    assert ccc(y, y + 0.5) == pytest.approx(0.8)
    # halved: cov 0.25, var 0.5 and 0.125 -> 0.5 / 0.625 = 0.8
    assert ccc(y, y / 2) == pytest.approx(0.8)
    assert ccc(y, np.zeros(5)) == pytest.approx(0.0)
    assert np.isnan(ccc(np.array([]), np.array([])))
    with pytest.raises(ValueError, match="same length"):
        ccc(y, y[:3])


def test_rmse():
    assert rmse(np.array([0.0, 0.0]), np.array([3.0, -4.0])) == pytest.approx(np.sqrt(12.5))
    assert rmse(np.ones(3), np.ones(3)) == 0.0


def test_kl_and_overlap_of_distributions():
    q = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    p = np.array([[0.25, 0.25, 0.5], [1.0, 0.0, 0.0]])
    kl = kl_divergence(q, p)
    assert kl[0] == pytest.approx(np.log(2))  # 0.5 log 2 + 0.5 log 2; the q = 0 term counts 0
    assert kl[1] == pytest.approx(0.0)
    assert np.isfinite(kl_divergence(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))).all()  # p clipped
    ov = distribution_overlap(q, p)
    assert ov == pytest.approx([0.5, 1.0])


def test_binary_prf():
    y = np.array([1, 1, 0, 0, 1], bool)
    pred = np.array([1, 0, 1, 0, 1], bool)
    r = binary_prf(y, pred)
    assert (r["tp"], r["n_true"], r["n_pred"]) == (2, 3, 3)
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 / 3)
    assert binary_prf(np.zeros(3, bool), np.zeros(3, bool))["f1"] == 0.0
