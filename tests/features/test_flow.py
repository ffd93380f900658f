"""Optical flow, strain and the network input, on generated textures with known motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emoscope.features import flow_to_input, micro_input, motion_magnitude, optical_flow, optical_strain


def texture(seed: int = 0, size: int = 192) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.uniform(0, 255, (size, size)).astype(np.float32), (0, 0), 2.0)
    return cv2.normalize(t, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def warp(img: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The picture whose content at x is the input's content at m^-1 x (content moves by m)."""
    return cv2.warpAffine(img, m, img.shape[::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("method", ["tvl1", "farneback"])
@pytest.mark.parametrize(("dx", "dy"), [(2.0, 0.0), (0.0, -1.5), (-1.0, 1.0)])
def test_translation_direction_and_magnitude(method: str, dx: float, dy: float) -> None:
    a = texture()
    b = warp(a, np.array([[1, 0, dx], [0, 1, dy]], np.float64))
    f = optical_flow(a, b, method)
    assert f.shape == (*a.shape, 2) and f.dtype == np.float32
    inner = f[24:-24, 24:-24].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, axis=0), [dx, dy], atol=0.15)
    # a rigid translation does not strain the skin
    assert np.median(optical_strain(f)[24:-24, 24:-24]) < 0.05
    # and the median displacement is removed from the motion score
    assert motion_magnitude(f) < 0.3


def test_strain_of_analytic_fields() -> None:
    h = w = 64
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    k = 0.05
    stretch = np.dstack([k * (x - 32), np.zeros_like(x)])  # du/dx = k
    np.testing.assert_allclose(optical_strain(stretch), k, atol=1e-6)
    scale = np.dstack([k * (x - 32), k * (y - 32)])  # e_xx = e_yy = k
    np.testing.assert_allclose(optical_strain(scale), k * np.sqrt(2), atol=1e-6)
    shear = np.dstack([k * (y - 32), np.zeros_like(x)])  # du/dy = k -> e_xy = k / 2
    np.testing.assert_allclose(optical_strain(shear), np.sqrt(2 * (k / 2) ** 2), atol=1e-6)
    rotation = np.dstack([-k * (y - 32), k * (x - 32)])  # rigid (infinitesimal) rotation: no strain
    np.testing.assert_allclose(optical_strain(rotation), 0, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        optical_strain(np.zeros((8, 8)))


def test_tvl1_strain_of_a_stretched_texture() -> None:
    a = texture(1)
    k = 0.03
    c = a.shape[1] / 2
    b = warp(a, np.array([[1 + k, 0, -k * c], [0, 1, 0]], np.float64))  # stretch horizontally about the centre
    f = optical_flow(a, b, "tvl1")
    inner = (slice(40, -40), slice(40, -40))
    du_dx = np.median(np.gradient(f[:, :, 0], axis=1)[inner])
    assert du_dx == pytest.approx(k, abs=0.01)
    assert np.median(optical_strain(f)[inner]) == pytest.approx(k, abs=0.012)
    assert motion_magnitude(f) > 0.5


def test_flow_to_input_reproduces_the_composite_normalisation() -> None:
    h = w = 112
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.dstack([0.02 * (x - 56), -0.01 * (y - 20)])
    inp = flow_to_input(flow)
    assert inp.shape == (3, 28, 28) and inp.dtype == np.float32
    for ch in inp[:2]:  # every channel spans exactly [0, 1] (the composite's files span 0..255)
        assert ch.min() == 0.0 and ch.max() == 1.0
    np.testing.assert_allclose(inp * 255, np.round(inp * 255), atol=1e-4)  # 8-bit steps
    assert (np.diff(inp[0], axis=1) > 0).all()  # u grows to the right
    assert (np.diff(inp[1], axis=0) < 0).all()  # v decreases downwards
    assert np.ptp(inp[2]) < 1e-6  # uniform strain: a constant channel becomes 0
    assert flow_to_input(np.zeros((40, 40, 2))).max() == 0.0
    assert flow_to_input(flow, size=14, quantize=False).shape == (3, 14, 14)
    with pytest.raises(ValueError, match="differ in size"):
        flow_to_input(flow, strain=np.zeros((10, 10)))


def test_bad_frames() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        optical_flow(np.zeros((32, 32), np.uint8), np.zeros((32, 30), np.uint8))
    with pytest.raises(ValueError, match="too small"):
        optical_flow(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="unknown flow method"):
        optical_flow(texture(), texture(), "magic")


def test_micro_input_from_aligned_crops() -> None:
    a = texture(2, 128)
    b = a.copy()
    b[80:110, 30:100] = warp(a, np.array([[1, 0, 0], [0, 1, -2.0]]))[80:110, 30:100]  # the "mouth" moves up
    m = micro_input(a, b)
    assert m.input.shape == (3, 28, 28)
    assert m.flow.shape == (128, 128, 2)
    v = m.flow[85:105, 40:90, 1]
    assert np.median(v) == pytest.approx(-2.0, abs=0.4)  # upward motion in the moved region
    assert np.abs(m.flow[10:50, 10:50]).max() < 0.5  # still elsewhere
    # the strain channel peaks in the moved region's rows
    rows = m.input[2].mean(axis=1)
    assert rows[18:28].max() > rows[:14].max()
