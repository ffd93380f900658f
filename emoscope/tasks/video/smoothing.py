"""Smoothing of per-frame probabilities over time.

Per-frame predictions flicker (a single frame's 48x48 crop is noisy). :class:`ProbabilitySmoother` averages them
with an exponential moving average whose weight follows the real time between frames: with time constant ``tau``
seconds, a new frame ``dt`` seconds after the previous one gets weight ``1 - exp(-dt / tau)``. It is causal (usable
live, on a camera) and correct for a variable frame rate; after a gap (the face was not seen) the old value has
faded accordingly. :func:`smooth_series` applies it to a whole series.
"""

from __future__ import annotations

import math

import numpy as np


class ProbabilitySmoother:
    """Time-aware exponential moving average of probability vectors, one state per key (e.g. per face).

    tau: time constant in seconds (``0``: no smoothing, the output is the input).
    """

    def __init__(self, tau: float = 0.3):
        if tau < 0 or not math.isfinite(tau):
            raise ValueError(f"smoothing time constant must be >= 0 seconds, got {tau}")
        self.tau = float(tau)
        self._state: dict[object, tuple[float, np.ndarray]] = {}

    def update(self, key: object, time: float, probs: np.ndarray) -> np.ndarray:
        """Add the ``(K,)`` probabilities of ``key`` at ``time`` (seconds); returns the smoothed ``(K,)`` vector
        (sums to 1 when the inputs do)."""
        p = np.asarray(probs, np.float64)
        prev = self._state.get(key)
        if prev is None or self.tau == 0:
            out = p.copy()
        else:
            t0, s = prev
            w = 1.0 - math.exp(-max(time - t0, 0.0) / self.tau)
            out = s + w * (p - s)
        self._state[key] = (float(time), out)
        return out

    def forget(self, key: object) -> None:
        """Drop the state of ``key`` (e.g. a face whose track ended)."""
        self._state.pop(key, None)


def smooth_series(times: np.ndarray, probs: np.ndarray, tau: float) -> np.ndarray:
    """Smooth a ``(T, K)`` series sampled at ``times`` ``(T,)`` seconds (increasing); NaN rows (face not seen) are
    skipped and stay NaN. Returns ``(T, K)``."""
    sm = ProbabilitySmoother(tau)
    out = np.full(np.shape(probs), np.nan)
    for i, (t, p) in enumerate(zip(times, probs, strict=True)):
        if np.isfinite(p).all():
            out[i] = sm.update(0, float(t), p)
    return out
