"""Valence / arousal and intensity DERIVED from the emotion distribution (no valence/arousal labels are used).

Each basic emotion gets a fixed point on the circumplex (Russell 1980: pleasure-displeasure x arousal-sleep, neutral
at the centre); a face's (valence, arousal) is the probability-weighted mean of those points. The points are the
valence and arousal ratings of the emotion words in the NRC Valence, Arousal, and Dominance Lexicon v1 (Mohammad,
"Obtaining Reliable Human Ratings of Valence, Arousal, and Dominance for 20,000 English Words", ACL 2018; ratings in
[0, 1] by best-worst scaling), mapped linearly onto [-1, 1] (``2 x - 1``), the range AffectNet's labels use:

=========  ===========================  =================
emotion    NRC VAD word (V, A) in [0,1]  point (V, A)
=========  ===========================  =================
happiness  happiness (0.960, 0.732)     (0.920, 0.464)
surprise   surprise (0.875, 0.875)      (0.750, 0.750)
sadness    sadness (0.052, 0.288)       (-0.896, -0.424)
anger      anger (0.167, 0.865)         (-0.666, 0.730)
disgust    disgust (0.052, 0.775)       (-0.896, 0.550)
fear       fear (0.073, 0.840)          (-0.854, 0.680)
contempt   contempt (0.206, 0.635)      (-0.588, 0.270)
neutral    (the centre, by definition)  (0, 0)
=========  ===========================  =================

These are ratings of *words*, not of faces: the mapping is a documented convention, not a measurement. Outputs
computed this way are labelled ``va_source = "derived"``. A model trained on valence/arousal labels
(:mod:`emoscope.tasks.affect.va`) gives ``va_source = "model"`` instead.

Intensity = 1 - P(neutral): the probability mass on the non-neutral emotions, in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Source of :data:`CIRCUMPLEX` (cited in outputs' documentation and in the README).
CIRCUMPLEX_SOURCE = (
    "NRC VAD Lexicon v1 (Mohammad 2018) valence/arousal of the emotion words, rescaled 2x-1 to [-1, 1]; "
    "neutral = circumplex centre (Russell 1980)"
)

_NRC_VAD: dict[str, tuple[float, float]] = {
    "happiness": (0.960, 0.732),
    "surprise": (0.875, 0.875),
    "sadness": (0.052, 0.288),
    "anger": (0.167, 0.865),
    "disgust": (0.052, 0.775),
    "fear": (0.073, 0.840),
    "contempt": (0.206, 0.635),
}

#: emotion -> (valence, arousal) in [-1, 1] (see the module docstring for the source).
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    **{k: (round(2 * v - 1, 3), round(2 * a - 1, 3)) for k, (v, a) in _NRC_VAD.items()},
    "neutral": (0.0, 0.0),
}


def circumplex_points(classes: Sequence[str]) -> np.ndarray:
    """``(K, 2)`` (valence, arousal) point of each class name (canonical emotion names, any order).

    Raises ``KeyError`` naming the class when it is not one of the 8 emotions of :data:`CIRCUMPLEX`.
    """
    try:
        return np.asarray([CIRCUMPLEX[c] for c in classes], np.float64)
    except KeyError as e:
        raise KeyError(f"no circumplex point for class {e}; known: {sorted(CIRCUMPLEX)}") from e


def derived_valence_arousal(probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """``(N, K)`` emotion probabilities over ``classes`` -> ``(N, 2)`` derived (valence, arousal) in [-1, 1]:
    the probability-weighted mean of the classes' circumplex points. Rows are renormalised to sum to 1."""
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or p.shape[1] != len(classes):
        raise ValueError(f"probs must be (N, {len(classes)}), got {p.shape}")
    s = p.sum(axis=1, keepdims=True)
    p = np.divide(p, s, out=np.full_like(p, 1.0 / p.shape[1]), where=s > 0)
    return p @ circumplex_points(classes)


def intensity(probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """``(N, K)`` emotion probabilities -> ``(N,)`` intensity in [0, 1] = 1 - P(neutral) (all 1 when the label
    set has no ``neutral``)."""
    p = np.asarray(probs, np.float64)
    if "neutral" not in classes:
        return np.ones(len(p))
    s = p.sum(axis=1)
    pn = p[:, list(classes).index("neutral")]
    return np.clip(1.0 - np.divide(pn, s, out=np.zeros_like(pn), where=s > 0), 0.0, 1.0)
