"""Attention modules: squeeze-and-excitation, CBAM and coordinate attention.

All take and return ``(N, C, H, W)`` feature maps; they re-weight channels and/or positions and add few
parameters and FLOPs. References: Hu et al. 2018 (SE), Woo et al. 2018 (CBAM), Hou et al. 2021 (CoordAtt).
"""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """Channel attention from globally average-pooled features (SE)."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3), keepdim=True))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention (avg + max pooled MLP), then spatial attention
    (7x7 convolution over the channel-wise mean and max maps)."""

    def __init__(self, channels: int, reduction: int = 8, kernel: int = 7):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))
        self.spatial = nn.Sequential(nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = x.mean(dim=(2, 3), keepdim=True)
        mx = x.amax(dim=(2, 3), keepdim=True)
        x = x * torch.sigmoid(self.mlp(avg) + self.mlp(mx))
        s = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(s))


class CoordAttention(nn.Module):
    """Coordinate attention: channel weights factorised along height and width, so the network learns *where*
    (which rows: eyes, mouth; which columns: face halves) to attend."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.reduce = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True))
        self.to_h = nn.Conv2d(hidden, channels, 1)
        self.to_w = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        xh = x.mean(dim=3, keepdim=True)  # (N, C, H, 1)
        xw = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (N, C, W, 1)
        y = self.reduce(torch.cat([xh, xw], dim=2))
        yh, yw = torch.split(y, [h, w], dim=2)
        return x * torch.sigmoid(self.to_h(yh)) * torch.sigmoid(self.to_w(yw.transpose(2, 3)))


ATTENTION = {"none": None, "se": SqueezeExcite, "cbam": CBAM, "coord": CoordAttention}


def make_attention(kind: str, channels: int) -> nn.Module | None:
    """Build an attention module by name (``none``, ``se``, ``cbam``, ``coord``) for ``channels`` channels."""
    if kind not in ATTENTION:
        raise KeyError(f"unknown attention {kind!r}; known: {sorted(ATTENTION)}")
    cls = ATTENTION[kind]
    return None if cls is None else cls(channels)
