"""Augmentation of optical-flow inputs ``(N, 3, H, W)`` in ``[0, 1]`` with channels ``(u, v, strain)``.

A horizontal mirror of the face reverses horizontal motion, so mirroring the flow must also negate ``u``. In the
MEGC2019 flow images each channel is min-max normalised per image (every image spans exactly 0..255 in every
channel), and the normalised image of ``-u`` is exactly ``1 - (normalised u)``; ``v`` and the strain (a
magnitude) are only mirrored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flip_flow(x: torch.Tensor) -> torch.Tensor:
    """Mirror flow left-right: every channel is flipped along the width and ``u`` (channel 0) becomes ``1 - u``.

    x: ``(N, 3, H, W)`` float in ``[0, 1]``. Returns a new tensor of the same shape.
    """
    y = x.flip(-1)
    return torch.cat([1.0 - y[:, :1], y[:, 1:]], dim=1)


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


def augment_flow(
    x: torch.Tensor, gen: torch.Generator, *, flip: bool = True, max_shift: int = 0
) -> torch.Tensor:
    """Random mirror (probability 1/2, see :func:`flip_flow`) and random shift of up to ``max_shift`` pixels.

    x: ``(N, 3, H, W)`` flow in ``[0, 1]``. All randomness comes from ``gen`` (seeded runs are reproducible).
    """
    n = x.shape[0]
    y = x
    if flip:
        mask = (torch.rand(n, generator=gen) < 0.5).view(n, 1, 1, 1)
        y = torch.where(mask, flip_flow(y), y)
    if max_shift > 0:
        d = torch.randint(-max_shift, max_shift + 1, (2, n), generator=gen)
        y = shift_flow(y, d[0], d[1])
    return y
