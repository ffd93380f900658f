"""The DERIVED valence / arousal mapping and the intensity score."""

import numpy as np
import pytest

from emoscope.labels import FER2013_CLASSES, FERPLUS_CLASSES
from emoscope.tasks.affect.circumplex import CIRCUMPLEX, circumplex_points, derived_valence_arousal, intensity


def test_points_are_the_cited_nrc_vad_ratings_rescaled():
    assert CIRCUMPLEX["neutral"] == (0.0, 0.0)
    assert CIRCUMPLEX["happiness"] == pytest.approx((2 * 0.960 - 1, 2 * 0.732 - 1))
    assert CIRCUMPLEX["sadness"] == pytest.approx((2 * 0.052 - 1, 2 * 0.288 - 1))
    assert set(CIRCUMPLEX) == set(FERPLUS_CLASSES)
    pts = np.array(list(CIRCUMPLEX.values()))
    assert (np.abs(pts) <= 1).all()
    # the circumplex quadrants: pleasant vs unpleasant, aroused vs calm
    assert CIRCUMPLEX["happiness"][0] > 0.5 and CIRCUMPLEX["surprise"][1] > 0.5
    for neg in ("sadness", "anger", "disgust", "fear", "contempt"):
        assert CIRCUMPLEX[neg][0] < 0
    assert CIRCUMPLEX["sadness"][1] < 0 < CIRCUMPLEX["anger"][1]


def test_one_hot_gives_the_class_point_and_mixtures_are_linear():
    eye = np.eye(len(FERPLUS_CLASSES))
    assert derived_valence_arousal(eye, FERPLUS_CLASSES) == pytest.approx(circumplex_points(FERPLUS_CLASSES))
    mix = np.zeros((1, 8))
    mix[0, FERPLUS_CLASSES.index("happiness")] = 0.5
    mix[0, FERPLUS_CLASSES.index("sadness")] = 0.5
    expect = (np.array(CIRCUMPLEX["happiness"]) + np.array(CIRCUMPLEX["sadness"])) / 2
    assert derived_valence_arousal(mix, FERPLUS_CLASSES)[0] == pytest.approx(expect)
    # unnormalised rows are renormalised; the FER2013 order works the same way
    p = np.zeros((1, 7))
    p[0, FER2013_CLASSES.index("anger")] = 3.0
    assert derived_valence_arousal(p, FER2013_CLASSES)[0] == pytest.approx(CIRCUMPLEX["anger"])


def test_intensity_is_one_minus_neutral():
    p = np.zeros((3, 8))
    p[0, 0] = 1.0  # neutral
    p[1, 1] = 1.0  # happiness
    p[2, [0, 3]] = [0.25, 0.75]
    assert intensity(p, FERPLUS_CLASSES) == pytest.approx([0.0, 1.0, 0.75])


def test_bad_inputs_are_refused():
    with pytest.raises(KeyError, match="pride"):
        circumplex_points(["pride"])
    with pytest.raises(ValueError, match="must be"):
        derived_valence_arousal(np.ones((2, 3)), FERPLUS_CLASSES)
