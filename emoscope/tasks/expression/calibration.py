"""Temperature scaling (Guo et al. 2017): one scalar T > 0 per head, fitted by minimising the negative
log-likelihood on the validation split."""

from __future__ import annotations

import numpy as np


def nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray, lo: float = 0.05, hi: float = 20.0, iters: int = 80) -> float:
    """Temperature minimising NLL of ``softmax(logits / T)`` against ``y`` (golden-section search on log T).

    logits: ``(N, K)``; y: ``(N,)`` class indices. NLL is unimodal in log T for fixed logits.
    """
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, y, np.exp(c)), nll(logits, y, np.exp(d))
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, y, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, y, np.exp(d))
    return float(np.exp((a + b) / 2))
