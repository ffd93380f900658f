import numpy as np

from emoscope.tasks.expression.calibration import fit_temperature, nll
from emoscope.tasks.expression.predictor import softmax


def test_fit_temperature_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, (20000, 5))
    t_true = 2.5
    p = softmax(z / t_true)
    y = np.array([rng.choice(5, p=row) for row in p])
    t = fit_temperature(z, y)
    assert abs(t - t_true) < 0.15
    assert nll(z, y, t) <= nll(z, y, 1.0)


def test_overconfident_logits_get_a_temperature_above_one():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 3000)
    z = rng.normal(0, 1, (3000, 3))
    z[np.arange(3000), y] += 1.0
    assert fit_temperature(z * 6, y) > 1.5
