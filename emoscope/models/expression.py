"""Expression recognition networks for 48x48 grey faces.

``ExpressionNet``: a small ResNet (stem + three basic-block stages, widths 32/64/128/256, ~95 M MACs) with an
optional attention module in every block, a shared trunk and one linear head per label set, so one network
predicts FER2013's 7 classes and FER+'s 8-emotion vote distribution at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from emoscope.labels import FER2013_CLASSES, FERPLUS_CLASSES
from emoscope.models.attention import make_attention
from emoscope.models.layers import BasicBlock, InputStandardize, conv_bn_relu


@dataclass(frozen=True)
class ExpressionNetConfig:
    """Architecture of an :class:`ExpressionNet`.

    widths: stem width, then the width of each of the three stages (spatial 24, 12, 6 for a 48 px input).
    attention: ``none``, ``se``, ``cbam`` or ``coord`` (see :mod:`emoscope.models.attention`).
    heads: output name -> class names; one linear classifier per entry.
    """

    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    attention: str = "cbam"
    dropout: float = 0.3
    input_size: int = 48
    heads: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"ferplus": FERPLUS_CLASSES, "fer2013": FER2013_CLASSES}
    )


class ExpressionNet(nn.Module):
    """Input ``(N, 1, 48, 48)`` float pixels in ``[0, 255]``; output ``{head: (N, n_classes) logits}``."""

    def __init__(self, config: ExpressionNetConfig):
        super().__init__()
        self.config = config
        w0, w1, w2, w3 = config.widths
        self.norm = InputStandardize()
        self.stem = nn.Sequential(conv_bn_relu(1, w0), conv_bn_relu(w0, w0, stride=2))  # 48 -> 24
        self.stages = nn.Sequential(
            BasicBlock(w0, w1, 1, make_attention(config.attention, w1)),  # 24
            BasicBlock(w1, w2, 2, make_attention(config.attention, w2)),  # 12
            BasicBlock(w2, w3, 2, make_attention(config.attention, w3)),  # 6
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(w3, len(classes)) for name, classes in config.heads.items()})
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, H, W)`` pixels -> ``(N, widths[-1])`` pooled embedding."""
        return self.pool(self.stages(self.stem(self.norm(x)))).flatten(1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.dropout(self.features(x))
        return {name: head(f) for name, head in self.heads.items()}
