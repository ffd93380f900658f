"""Building blocks shared by the expression and micro-expression networks (PyTorch)."""

from __future__ import annotations

import torch
from torch import nn


class InputStandardize(nn.Module):
    """Per-image standardisation: ``(x - mean) / max(std, min_std)`` over each image's pixels.

    Input ``(N, C, H, W)`` float in ``[0, 255]``; output the same shape, zero mean and unit variance per image.
    Inside the network so the exported ONNX model takes raw pixel values.
    """

    def __init__(self, min_std: float = 8.0):
        super().__init__()
        self.min_std = min_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(self.min_std)
        return (x - mean) / std


def conv_bn_relu(cin: int, cout: int, stride: int = 1, k: int = 3) -> nn.Sequential:
    """3x3 (default) convolution, batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convolutions) with an optional attention module before the residual sum."""

    def __init__(self, cin: int, cout: int, stride: int = 1, attention: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.attention = attention if attention is not None else nn.Identity()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.attention(self.conv2(self.conv1(x)))
        return self.act(y + self.shortcut(x))
