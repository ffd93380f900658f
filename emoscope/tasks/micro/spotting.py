"""Spotting micro-expressions in a long clip of one face: when does a brief, local movement happen?

Signal (per frame ``t``, on aligned face crops; ``k`` frames = ``k_seconds`` at the clip's frame rate, about half
a micro-expression):

* ``A(t)``: local motion from ``t - k`` to ``t``; ``B(t)``: from ``t + k`` back to ``t``; ``C(t)``: from
  ``t - k`` to ``t + k``. A micro-expression peaking at ``t`` moves the face away and back, so ``A`` and ``B`` are
  large and ``C`` small; a lasting change (a macro-expression setting in, a head turn) makes ``C`` as large as
  ``A`` or ``B``. ``S(t) = max(0, (A + B) / 2 - C)``.
* "Local" motion: Farnebäck flow at ``work_size`` px, median displacement removed (small head translations),
  magnitude averaged over an 8x8 grid of blocks, and the mean of the ``top_blocks`` largest blocks: a
  micro-expression moves one region (brows, eyes, mouth corners), not the whole face. In pixels of the
  :data:`~emoscope.features.micro.CROP_SIZE` px aligned crop.

``S`` is smoothed with a running median over ``median_frames`` frames (one-frame glitches of decoding or
alignment look like very short movements). Peaks of ``S`` above ``threshold = max(min_motion, median(S) + z * 1.4826 * MAD(S))`` (at least ``k`` frames
apart, strongest first) are the apexes. Onset and offset: around the apex, the local motion from a reference frame
``w`` frames before the apex (``w`` = half of ``max_duration``) is followed back and forth until it falls below
``extent_fraction`` of its value at the apex. Intervals up to ``max_duration`` seconds are micro-expressions,
longer ones are reported as ``macro``.

The default ``z`` and ``min_motion`` were set on generated clips (tests/tasks/micro/test_spotting.py), not on
a labelled long-video set (none is in our data: CAS(ME)^2 and SAMM Long Videos are the public ones); tune them on
your own labelled clips with :func:`fit_threshold` and score with :func:`emoscope.evaluation.spotting.spotting_scores`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from emoscope.evaluation.spotting import spotting_scores
from emoscope.features.flow import optical_flow
from emoscope.features.micro import CROP_SIZE


@dataclass(frozen=True)
class SpotConfig:
    """Parameters of :func:`spot` (times in seconds, motion in pixels of the 128 px aligned crop)."""

    k_seconds: float = 0.1
    max_duration: float = 0.5
    z: float = 6.0
    min_motion: float = 0.25
    extent_fraction: float = 0.25
    work_size: int = 64
    grid: int = 8
    top_blocks: int = 6
    median_frames: int = 3


@dataclass
class SpottedInterval:
    """One spotted movement: frames (inclusive, indices in the clip), times in seconds, peak signal (px) and kind
    (``micro`` if it lasts at most ``max_duration``, else ``macro``); ``label``/``probabilities`` are filled when a
    recogniser classified it (onset -> apex)."""

    onset: int
    apex: int
    offset: int
    onset_s: float
    apex_s: float
    offset_s: float
    score: float
    kind: str = "micro"
    label: str | None = None
    probabilities: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("onset_s", "apex_s", "offset_s", "score"):
            d[key] = round(float(d[key]), 4)
        if d["probabilities"] is not None:
            d["probabilities"] = {k: round(float(v), 6) for k, v in d["probabilities"].items()}
        return d


@dataclass
class SpotResult:
    """All intervals of one clip, the per-frame signal ``S`` (px; NaN where undefined, near the ends) and the
    threshold used (inf when the clip is too short to spot in: :func:`min_frames`)."""

    intervals: list[SpottedInterval]
    signal: np.ndarray
    threshold: float
    fps: float
    k: int
    config: SpotConfig = field(default_factory=SpotConfig)

    @property
    def micro(self) -> list[SpottedInterval]:
        return [iv for iv in self.intervals if iv.kind == "micro"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: undefined values (signal near the ends, the threshold of a too-short clip) are None."""
        return {"fps": self.fps, "k": self.k, "threshold": _finite(self.threshold, 5),
                "intervals": [iv.to_dict() for iv in self.intervals], "config": asdict(self.config),
                "signal": [_finite(v, 5) for v in np.asarray(self.signal, np.float64)]}  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    def to_dataframe(self):  # -> pandas.DataFrame
        """One row per interval: onset, apex, offset (frames), onset_s, apex_s, offset_s, score, kind, label and,
        when classified, p_<class>..."""
        import pandas as pd

        rows = []
        for iv in self.intervals:
            d = iv.to_dict()
            probs = d.pop("probabilities") or {}
            d.update({f"p_{k}": v for k, v in probs.items()})
            rows.append(d)
        cols = ["onset", "apex", "offset", "onset_s", "apex_s", "offset_s", "score", "kind", "label"]
        return pd.DataFrame(rows, columns=None if rows else cols)


def _finite(v: float, decimals: int) -> float | None:
    v = float(v)
    return round(v, decimals) if math.isfinite(v) else None


def min_frames(fps: float, cfg: SpotConfig = SpotConfig()) -> int:
    """Fewest frames :func:`spot` can find anything in at ``fps``: ``2k + 1`` (``k`` frames = ``k_seconds``); a
    shorter clip gives no interval."""
    return 2 * _window(fps, cfg) + 1


def _window(fps: float, cfg: SpotConfig) -> int:
    return max(1, round(cfg.k_seconds * fps))


def _small(frames: np.ndarray, size: int) -> list[np.ndarray]:
    return [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames]


def local_motion(a: np.ndarray, b: np.ndarray, cfg: SpotConfig = SpotConfig()) -> float:
    """Local motion between two small aligned grey frames (see the module docstring), in 128 px crop pixels."""
    f = optical_flow(a, b, "farneback")
    f = f - np.median(f.reshape(-1, 2), axis=0)
    mag = np.hypot(f[:, :, 0], f[:, :, 1])
    g = cfg.grid
    s = mag.shape[0] // g * g
    blocks = mag[:s, :s].reshape(g, s // g, g, s // g).mean(axis=(1, 3)).ravel()
    top = np.sort(blocks)[-cfg.top_blocks :]
    return float(top.mean()) * CROP_SIZE / mag.shape[0]


def spot_signal(aligned: np.ndarray, k: int, cfg: SpotConfig = SpotConfig()) -> np.ndarray:
    """``S(t)`` for every frame of ``(T, S, S)`` aligned grey crops; NaN for the first and last ``k`` frames."""
    small = _small(np.asarray(aligned), cfg.work_size)
    n = len(small)
    sig = np.full(n, np.nan)
    for t in range(k, n - k):
        a = local_motion(small[t - k], small[t], cfg)
        b = local_motion(small[t + k], small[t], cfg)
        c = local_motion(small[t - k], small[t + k], cfg)
        sig[t] = max(0.0, (a + b) / 2.0 - c)
    return sig


def median_smooth(signal: np.ndarray, width: int) -> np.ndarray:
    """Running median over ``width`` frames (odd; 1 = none), NaN where any value in the window is NaN. Removes
    one-frame glitches (a frame that differs from both neighbours: a decoding or alignment hiccup looks like a
    very short movement); a micro-expression lasts many frames and keeps its peak."""
    s = np.asarray(signal, np.float64)
    if width <= 1 or len(s) < width:
        return s.copy()
    half = width // 2
    out = np.full(len(s), np.nan)
    win = np.lib.stride_tricks.sliding_window_view(s, 2 * half + 1)
    ok = np.isfinite(win).all(axis=1)
    out[half : len(s) - half][ok] = np.median(win[ok], axis=1)
    return out


def robust_threshold(signal: np.ndarray, cfg: SpotConfig = SpotConfig()) -> float:
    """``max(min_motion, median + z * 1.4826 * MAD)`` of the defined values of ``signal``."""
    v = signal[np.isfinite(signal)]
    if v.size == 0:
        return float("inf")
    med = float(np.median(v))
    mad = float(np.median(np.abs(v - med))) * 1.4826
    return max(cfg.min_motion, med + cfg.z * mad)


def _peaks(signal: np.ndarray, threshold: float, min_gap: int) -> list[int]:
    s = np.where(np.isfinite(signal), signal, -np.inf)
    order = np.argsort(-s, kind="stable")
    taken: list[int] = []
    for t in order:
        if s[t] < threshold:
            break
        if all(abs(int(t) - p) >= min_gap for p in taken):
            taken.append(int(t))
    return sorted(taken)


def _extent(small: list[np.ndarray], apex: int, w: int, cfg: SpotConfig) -> tuple[int, int]:
    """Onset and offset around ``apex``: where the motion from a reference frame ``w`` before the apex falls below
    ``extent_fraction`` of the apex's."""
    n = len(small)
    ref = max(0, apex - w)
    lo, hi = ref, min(n - 1, apex + w)
    motion = {t: local_motion(small[ref], small[t], cfg) for t in range(lo, hi + 1)}
    peak = motion[apex]
    if peak <= 0:
        return apex, apex
    cut = cfg.extent_fraction * peak
    onset = apex
    while onset - 1 >= lo and motion[onset - 1] >= cut:
        onset -= 1
    offset = apex
    while offset + 1 <= hi and motion[offset + 1] >= cut:
        offset += 1
    return onset, offset


def spot(
    aligned: np.ndarray,
    fps: float,
    cfg: SpotConfig = SpotConfig(),
    threshold: float | None = None,
    signal: np.ndarray | None = None,
) -> SpotResult:
    """Spot brief local movements in ``(T, S, S)`` aligned grey crops of one face filmed at ``fps``.

    threshold: use this signal threshold (px) instead of :func:`robust_threshold` (e.g. one fitted with
    :func:`fit_threshold`); signal: a precomputed :func:`spot_signal` of these frames with the same ``k``.
    Returns every interval found (``kind`` micro or macro), in time order.
    """
    a = np.asarray(aligned)
    if a.ndim != 3:
        raise ValueError(f"aligned frames must be (T, S, S) grey, got shape {a.shape}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    k = _window(fps, cfg)
    if len(a) < min_frames(fps, cfg):
        return SpotResult([], np.full(len(a), np.nan), float("inf"), fps, k, cfg)
    sig = spot_signal(a, k, cfg) if signal is None else np.asarray(signal, np.float64)
    sig = median_smooth(sig, cfg.median_frames)
    thr = robust_threshold(sig, cfg) if threshold is None else float(threshold)
    small = _small(a, cfg.work_size)
    w = max(k, round(cfg.max_duration * fps / 2))
    out = []
    for p in _peaks(sig, thr, k):
        on, off = _extent(small, p, w, cfg)
        dur = (off - on + 1) / fps
        out.append(SpottedInterval(on, p, off, on / fps, p / fps, off / fps, float(sig[p]),
                                   "micro" if dur <= cfg.max_duration else "macro"))  # fmt: skip
    return SpotResult(out, sig, thr, fps, k, cfg)


def fit_threshold(
    clips: Sequence[np.ndarray], fps: Sequence[float], truth: Sequence[Sequence[tuple[int, int]]],
    cfg: SpotConfig = SpotConfig(), candidates: Sequence[float] | None = None,
) -> tuple[float, dict[str, Any]]:  # fmt: skip
    """Choose the signal threshold that maximises the MEGC spotting F1 (micro intervals) on LABELLED clips — your
    training clips, never the ones you report on. Returns ``(threshold, scores at that threshold)``."""
    sigs = []
    for c, f in zip(clips, fps, strict=True):
        k = max(1, round(cfg.k_seconds * f))
        sigs.append(spot_signal(np.asarray(c), k, cfg) if len(c) >= 2 * k + 1 else np.full(len(c), np.nan))
    if candidates is None:
        allv = np.concatenate([s[np.isfinite(s)] for s in sigs] or [np.zeros(1)])
        candidates = np.unique(np.quantile(allv, np.linspace(0.5, 1.0, 51)))
    best: tuple[float, dict[str, Any]] | None = None
    for thr in candidates:
        pred = [
            [(iv.onset, iv.offset) for iv in spot(c, f, cfg, float(thr)).micro]
            for c, f in zip(clips, fps, strict=True)
        ]
        s = spotting_scores(pred, truth)
        if best is None or s["f1"] > best[1]["f1"]:
            best = (float(thr), s)
    assert best is not None
    return best
