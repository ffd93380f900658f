"""Augmentation of optical-flow inputs ``(N, 3, H, W)`` in ``[0, 1]`` with channels ``(u, v, strain)``.

A horizontal mirror of the face reverses horizontal motion, so mirroring the flow must also negate ``u``. In the
MEGC2019 flow images each channel is min-max normalised per image (every image spans exactly 0..255 in every
channel), and the normalised image of ``-u`` is exactly ``1 - (normalised u)``; ``v`` and the strain (a
magnitude) are only mirrored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from emoscope.models.micro import flip_flow

__all__ = ["augment_flow", "flip_flow", "shift_flow", "warp_flow"]


def shift_flow(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Translate each flow image by whole pixels, repeating the border.

    x: ``(N, C, H, W)``; dx, dy: ``(N,)`` integer shifts in pixels (positive = right / down).
    """
    n, c, h, w = x.shape
    s = int(max(dx.abs().max().item(), dy.abs().max().item(), 0)) if n else 0
    if s == 0:
        return x.clone()
    padded = F.pad(x, (s, s, s, s), mode="replicate")
    rows = torch.arange(h).view(1, h) + s - dy.view(n, 1).long()  # (N, H) source rows
    cols = torch.arange(w).view(1, w) + s - dx.view(n, 1).long()  # (N, W) source columns
    ni = torch.arange(n).view(n, 1, 1, 1)
    ci = torch.arange(c).view(1, c, 1, 1)
    return padded[ni, ci, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]


def warp_flow(x: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Rotate (degrees, counter-clockwise) and scale each flow image about its centre, repeating the border.

    Only the image is moved, the vectors are not turned: the channels are min-max normalised separately, so ``u``
    and ``v`` cannot be mixed back into rotated vectors; for the small angles used (a few degrees) the error is
    small. x: ``(N, C, H, W)``; angle, scale: ``(N,)``.
    """
    a = torch.deg2rad(angle.float())
    cos, sin = torch.cos(a) / scale, torch.sin(a) / scale
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def augment_flow(
    x: torch.Tensor,
    gen: torch.Generator,
    *,
    flip: bool = True,
    max_shift: int = 0,
    rotate: float = 0.0,
    scale: float = 0.0,
) -> torch.Tensor:
    """Random mirror (probability 1/2, see :func:`flip_flow`), rotation by up to ``rotate`` degrees and scaling by
    up to ``scale`` (a fraction, see :func:`warp_flow`), and random shift of up to ``max_shift`` pixels.

    x: ``(N, 3, H, W)`` flow in ``[0, 1]``. All randomness comes from ``gen`` (seeded runs are reproducible).
    """
    n = x.shape[0]
    y = x
    if flip:
        mask = (torch.rand(n, generator=gen) < 0.5).view(n, 1, 1, 1)
        y = torch.where(mask, flip_flow(y), y)
    if rotate > 0 or scale > 0:
        r = torch.rand(2, n, generator=gen) * 2.0 - 1.0
        y = warp_flow(y, r[0] * rotate, 1.0 + r[1] * scale)
    if max_shift > 0:
        d = torch.randint(-max_shift, max_shift + 1, (2, n), generator=gen)
        y = shift_flow(y, d[0], d[1])
    return y
