"""Batch data augmentation on the CPU/GPU in PyTorch (no worker processes needed on 2 cores)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_batch(
    x: torch.Tensor,
    gen: torch.Generator,
    *,
    max_rotate_deg: float = 15.0,
    scale: tuple[float, float] = (0.85, 1.15),
    max_shift: float = 0.1,
    flip: bool = True,
    erase_p: float = 0.5,
    gamma: tuple[float, float] = (0.7, 1.4),
) -> torch.Tensor:
    """Random affine (rotation, scale, shift, horizontal flip), gamma and random erasing.

    x: ``(N, 1, H, W)`` float pixels in ``[0, 255]``. Returns a new tensor of the same shape and range.
    All randomness comes from ``gen`` (seeded runs are reproducible).
    """
    n, _, h, w = x.shape
    dev = x.device

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=gen).mul(hi - lo).add(lo).to(dev)

    ang = u(-max_rotate_deg, max_rotate_deg) * math.pi / 180
    s = u(*scale)
    sx = s * torch.where(u(0, 1) < 0.5, -1.0, 1.0) if flip else s
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack(
        [
            torch.stack([cos / sx, -sin / s, u(-max_shift, max_shift) * 2], dim=1),
            torch.stack([sin / sx, cos / s, u(-max_shift, max_shift) * 2], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    g = u(*gamma).view(n, 1, 1, 1)
    y = (y.clamp(0, 255) / 255.0).pow(g) * 255.0
    if erase_p > 0:
        area = u(0.02, 0.2) * h * w
        ratio = torch.exp(u(math.log(0.3), math.log(3.3)))
        eh = (area * ratio).sqrt().clamp(1, h).long()
        ew = (area / ratio).sqrt().clamp(1, w).long()
        y0 = (u(0, 1) * (h - eh + 1).float()).long()
        x0 = (u(0, 1) * (w - ew + 1).float()).long()
        rows = torch.arange(h, device=dev).view(1, h, 1)
        cols = torch.arange(w, device=dev).view(1, 1, w)
        box = (
            (rows >= y0.view(n, 1, 1)) & (rows < (y0 + eh).view(n, 1, 1))
            & (cols >= x0.view(n, 1, 1)) & (cols < (x0 + ew).view(n, 1, 1))
        )  # fmt: skip
        box = box & (u(0, 1) < erase_p).view(n, 1, 1)
        noise = torch.rand(y.shape, generator=gen).to(dev) * 255.0
        y = torch.where(box.unsqueeze(1), noise, y)
    return y
