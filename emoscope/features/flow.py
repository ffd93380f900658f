"""Optical flow and optical strain between two frames, and the 28x28 network input made from them.

Conventions: a flow field is ``(H, W, 2)`` float32 in pixels; channel 0 is the horizontal displacement ``u``
(positive = to the right), channel 1 the vertical displacement ``v`` (positive = down), such that the content at
``(x, y)`` in the first frame is found at ``(x + u, y + v)`` in the second.

The network input (:func:`flow_to_input`) reproduces the MEGC2019 composite's flow images
(``STSNet_whole_norm_u_v_os``): ``u``, ``v`` and the optical strain, each resized to 28x28 and min-max normalised
per image to ``[0, 1]`` (every channel of every composite image spans exactly 0..255: the normalisation comes after
the resizing), optionally rounded to 8 bits as in its PNG files.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from emoscope.input.images import to_grey_uint8


def _tvl1(prev: np.ndarray, nxt: np.ndarray, **params) -> np.ndarray:
    if not hasattr(cv2, "optflow"):
        raise RuntimeError(
            "TV-L1 optical flow needs OpenCV's contrib modules: pip install opencv-contrib-python-headless"
        )
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create(**params)
    return tvl1.calc(prev, nxt, None)


def _farneback(prev: np.ndarray, nxt: np.ndarray, **params) -> np.ndarray:
    p = {
        "pyr_scale": 0.5,
        "levels": 3,
        "winsize": 9,
        "iterations": 3,
        "poly_n": 5,
        "poly_sigma": 1.1,
        "flags": 0,
    }
    p.update(params)
    return cv2.calcOpticalFlowFarneback(prev, nxt, None, **p)


#: Flow methods: ``tvl1`` (Dual TV-L1, Zach et al. 2007: the field's standard, as in STSTNet / the MEGC2019
#: composite) and ``farneback`` (Farnebäck 2003: about 10x faster, smoother; used for apex search and spotting).
FLOW_METHODS: dict[str, Callable[..., np.ndarray]] = {"tvl1": _tvl1, "farneback": _farneback}


def optical_flow(prev: np.ndarray, nxt: np.ndarray, method: str = "tvl1", **params) -> np.ndarray:
    """Dense optical flow from ``prev`` to ``nxt``.

    prev, nxt: two frames of the same size, grey ``(H, W)`` or BGR/BGRA ``(H, W, C)``, any dtype (converted to grey
        uint8). method: a key of :data:`FLOW_METHODS`; params: passed to the OpenCV implementation
        (e.g. ``nscales``, ``warps``, ``epsilon`` for TV-L1).
    Returns ``(H, W, 2)`` float32 displacement in pixels (u, v).
    """
    if method not in FLOW_METHODS:
        raise ValueError(f"unknown flow method {method!r}; known: {sorted(FLOW_METHODS)}")
    a, b = to_grey_uint8(prev), to_grey_uint8(nxt)
    if a.shape != b.shape:
        raise ValueError(
            f"the two frames differ in size: {a.shape[1]}x{a.shape[0]} and {b.shape[1]}x{b.shape[0]}"
        )
    if min(a.shape) < 8:
        raise ValueError(
            f"frames of {a.shape[1]}x{a.shape[0]} pixels are too small for optical flow (min 8x8)"
        )
    flow = FLOW_METHODS[method](a, b, **params)
    return np.ascontiguousarray(flow, dtype=np.float32)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Magnitude of the optical strain tensor of a flow field, ``(H, W)`` float32 (dimensionless).

    The strain tensor is ``eps = (J + J^T) / 2`` with ``J`` the Jacobian of ``(u, v)`` (central differences); its
    magnitude ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)`` (Shreve et al. 2011; Liong et al. 2018) is large where the skin
    stretches or compresses and 0 under a rigid translation.
    """
    f = np.asarray(flow, np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {f.shape}")
    du_dy, du_dx = np.gradient(f[:, :, 0])
    dv_dy, dv_dx = np.gradient(f[:, :, 1])
    exy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2.0 * exy**2).astype(np.float32)


def _minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    if hi - lo <= 1e-6 * max(1.0, abs(lo), abs(hi)):  # constant up to rounding noise
        return np.zeros_like(a, dtype=np.float32)
    return ((a - lo) / (hi - lo)).astype(np.float32)


def flow_to_input(
    flow: np.ndarray, strain: np.ndarray | None = None, size: int = 28, quantize: bool = True
) -> np.ndarray:
    """The micro-expression networks' input from a flow field: ``(3, size, size)`` float32 in ``[0, 1]``.

    Channels ``(u, v, strain)``; each is resized to ``size`` x ``size`` (area interpolation), then min-max
    normalised to ``[0, 1]`` (a constant channel becomes 0), then rounded to 1/255 steps when ``quantize`` (as the
    composite's 8-bit PNG files). ``strain`` defaults to :func:`optical_strain` of ``flow``.
    """
    f = np.asarray(flow, np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {f.shape}")
    s = optical_strain(f) if strain is None else np.asarray(strain, np.float32)
    if s.shape != f.shape[:2]:
        raise ValueError(f"strain {s.shape} and flow {f.shape[:2]} differ in size")
    out = np.empty((3, size, size), np.float32)
    for i, ch in enumerate((f[:, :, 0], f[:, :, 1], s)):
        interp = cv2.INTER_AREA if ch.shape[0] > size or ch.shape[1] > size else cv2.INTER_LINEAR
        out[i] = _minmax(cv2.resize(np.ascontiguousarray(ch), (size, size), interpolation=interp))
    if quantize:
        out = np.round(out * 255.0) / 255.0
    return out.astype(np.float32)
