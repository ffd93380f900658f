"""Per-face affect readings from an expression model's output: compound label, intensity, valence / arousal.

:class:`AffectReader` turns the calibrated ``(N, K)`` probabilities of an
:class:`~emoscope.tasks.expression.predictor.ExpressionRecognizer` (and, for a valence/arousal model, the face
crops) into :class:`AffectReading` values, which :class:`emoscope.api.Analyzer` puts on each
:class:`~emoscope.outputs.results.FaceResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoscope.tasks.affect.circumplex import derived_valence_arousal, intensity
from emoscope.tasks.affect.compound import CompoundRule
from emoscope.tasks.affect.va import VARegressor


@dataclass(frozen=True)
class AffectReading:
    """One face's affect readings.

    compound: compound label (``"happily surprised"``) or the basic label; None when the model has no fitted rule.
    compound_of: its emotions (two, or one); None with ``compound``.
    intensity: 1 - P(neutral), in [0, 1].
    valence, arousal: in [-1, 1].
    va_source: ``"derived"`` (circumplex mapping of the emotion distribution) or ``"model"`` (VA regression).
    """

    compound: str | None
    compound_of: tuple[str, ...] | None
    intensity: float
    valence: float
    arousal: float
    va_source: str

    def apply_to(self, face) -> None:
        """Set these readings on a :class:`~emoscope.outputs.results.FaceResult` (in place). After smoothing a
        face's probabilities over video frames, re-read them with :meth:`AffectReader.read` and apply again so that
        the readings match the smoothed label."""
        face.compound, face.compound_of, face.intensity = self.compound, self.compound_of, self.intensity
        face.valence, face.arousal, face.va_source = self.valence, self.arousal, self.va_source


class AffectReader:
    """Affect readings for one expression head.

    classes: the head's class names; temperature: the temperature of the probabilities it will be given (the
    recognizer's calibration); rule: the head's fitted compound rule (None: no compound label, and intensity /
    derived valence-arousal read the given probabilities as they are); va_model: a :class:`VARegressor` (None:
    valence / arousal are derived from the emotion distribution).
    """

    def __init__(self, classes: Sequence[str], temperature: float = 1.0, rule: CompoundRule | None = None,
                 va_model: VARegressor | None = None):  # fmt: skip
        self.classes = tuple(classes)
        self.temperature = float(temperature)
        if rule is not None and tuple(rule.classes) != self.classes:
            raise ValueError(f"compound rule classes {rule.classes} do not match the head's {self.classes}")
        self.rule = rule
        self.va_model = va_model

    @classmethod
    def for_recognizer(cls, recognizer, va_model: str | Path | VARegressor | None = None) -> AffectReader:
        """The reader of an :class:`ExpressionRecognizer`: its head, temperature and the compound rule in its
        metadata (if fitted for that head); ``va_model``: a VA model path or :class:`VARegressor`."""
        if va_model is not None and not isinstance(va_model, VARegressor):
            va_model = VARegressor(va_model)
        rule = CompoundRule.from_meta(recognizer.meta, recognizer.head)
        return cls(recognizer.classes, recognizer.temperature, rule, va_model)

    @staticmethod
    def available(recognizer) -> bool:
        """Whether the recognizer's model carries a fitted compound rule (``emoscope calibrate compound``): the
        condition under which :class:`emoscope.api.Analyzer` adds affect readings by default."""
        return CompoundRule.from_meta(getattr(recognizer, "meta", None) or {}) is not None

    def distribution(self, probs: np.ndarray) -> np.ndarray:
        """``(N, K)`` distribution the readings use: the rule's (temperature fitted to annotators' vote shares)
        when there is a rule, else ``probs`` itself."""
        probs = np.asarray(probs, np.float64)
        if self.rule is None:
            return probs
        return self.rule.distribution(probs=probs, temperature=self.temperature)

    def derived_va(self, probs: np.ndarray) -> np.ndarray:
        """``(N, K)`` calibrated probabilities -> ``(N, 2)`` derived (valence, arousal) in [-1, 1]."""
        return derived_valence_arousal(self.distribution(probs), self.classes)

    def read(
        self, probs: np.ndarray, crops: Sequence[np.ndarray] | np.ndarray | None = None
    ) -> list[AffectReading]:
        """Readings for ``(N, K)`` calibrated probabilities (``crops``: the N face crops, needed with a VA model)."""
        probs = np.asarray(probs, np.float64)
        if len(probs) == 0:
            return []
        dist = self.distribution(probs)
        inten = intensity(dist, self.classes)
        if self.va_model is not None:
            if crops is None:
                raise ValueError("a valence/arousal model needs the face crops")
            va, source = self.va_model.predict(crops).astype(np.float64), "model"
        else:
            va, source = derived_valence_arousal(dist, self.classes), "derived"
        labels = self.rule.labels(dist) if self.rule is not None else [(None, None)] * len(probs)
        return [
            AffectReading(c, comp, float(i), float(v), float(a), source)
            for (c, comp), i, (v, a) in zip(labels, inten, va, strict=True)
        ]
