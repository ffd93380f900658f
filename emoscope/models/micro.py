"""Micro-expression networks on 28x28 onset->apex optical flow (channels u, v, optical strain).

* :class:`STSTNet`: the published baseline (Liong et al., "Shallow Triple Stream Three-dimensional CNN
  (STSTNet) for micro-expression recognition", FG 2019), layer for layer as in the authors' PyTorch code: three
  parallel 3x3 convolutions with 3, 5 and 8 channels (padding 2: 28 -> 30), each followed by ReLU, batch norm,
  3x3/3 max pooling (30 -> 10) and dropout 0.5; the 16 channels are concatenated, 2x2 average-pooled (10 -> 5),
  flattened (400) and classified by one linear layer. 1,683 parameters. The authors' code feeds raw 0..255
  pixel values; ``input_scale=255`` reproduces that from our ``[0, 1]`` input.
* :class:`MicroAttnNet`: our model: the same shallow trunk (STSTNet's three parallel 3x3 streams on one input
  are together one 16-channel 3x3 convolution), max pooling to 10x10 before the normalisation, an
  attention module there (CBAM: channel + spatial attention; none for the ablation twin; or SE / coordinate
  attention), one 3x3 convolution, then the same 2x2 average pooling, flattening (position is kept: where the
  face moves matters) and linear classifier. Options: ``u`` and ``v`` measured from each image's median
  (``center="median"``: the level of its still pixels, which the per-image min-max normalisation moves) and the
  mean of the logits of the flow and its mirror image in eval mode (``flip_average``).

Both take ``(N, 3, 28, 28)`` float flow in ``[0, 1]`` and return ``(N, n_classes)`` logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from emoscope.labels import MICRO_CLASSES
from emoscope.models.attention import make_attention


@dataclass(frozen=True)
class STSTNetConfig:
    """Architecture of :class:`STSTNet` (defaults = the published network).

    streams: output channels of the parallel 3x3 convolutions.
    input_scale: the ``[0, 1]`` input is multiplied by this first (255 = the authors' raw pixel range).
    """

    streams: tuple[int, ...] = (3, 5, 8)
    dropout: float = 0.5
    input_scale: float = 255.0
    input_size: int = 28
    classes: tuple[str, ...] = MICRO_CLASSES


class STSTNet(nn.Module):
    """Shallow triple-stream CNN. Input ``(N, 3, 28, 28)`` flow in ``[0, 1]``; output ``(N, K)`` logits."""

    def __init__(self, config: STSTNetConfig):
        super().__init__()
        self.config = config
        self.convs = nn.ModuleList(nn.Conv2d(3, c, kernel_size=3, padding=2) for c in config.streams)
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in config.streams)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2)
        self.dropout = nn.Dropout(config.dropout)
        side = _ststnet_side(config.input_size)
        self.fc = nn.Linear(side * side * sum(config.streams), len(config.classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.config.input_scale
        # the published order: conv -> ReLU -> batch norm -> max pool -> dropout, per stream
        ys = [self.dropout(self.maxpool(bn(self.relu(conv(x))))) for conv, bn in zip(self.convs, self.bns, strict=True)]
        return self.fc(self.avgpool(torch.cat(ys, dim=1)).flatten(1))


def _ststnet_side(input_size: int) -> int:
    """Spatial side after STSTNet's conv (pad 2), max pool (3/3, pad 1) and average pool (2/2): 28 -> 5."""
    conv = input_size + 2
    pooled = (conv + 2 - 3) // 3 + 1
    return pooled // 2


@dataclass(frozen=True)
class MicroAttnNetConfig:
    """Architecture of :class:`MicroAttnNet`.

    width: channels of the first 3x3 convolution on the flow (STSTNet's three streams of 3, 5 and 8 channels see
        the same input with the same kernel, so together they are one 16-channel convolution: the same width).
    attention: ``cbam``, ``se``, ``coord`` or ``none``, over the pooled 10x10 maps.
    mix: channels of the 3x3 convolution after the attention (0 = none).
    center: what is taken as zero motion in ``u`` and ``v``. ``none``: 0.5, the middle of the normalised range;
        ``mean`` / ``median``: the image's own mean / median of that channel. The composite's flow images are
        min-max normalised per image, so the level of a still pixel moves from image to image (the median of
        ``v`` spans 0.14-0.88 over the 442 images); most of a face is still, so its median marks it.
    scale: ``none`` keeps the min-max scale; ``std`` divides the centred ``u`` and ``v`` of each image by their own
        standard deviation (times 4, so that a typical image keeps its range; the median std is 0.13), so that one
        extreme pixel, which sets the min-max range, no longer shrinks all the other motion.
    flip_average: in eval mode, average the logits of the flow and of its mirror image (``u`` negated, as the
        training's flip augmentation makes it): a face's left-right mirror shows the same expression.
    """

    width: int = 16
    attention: str = "cbam"
    mix: int = 32
    center: str = "none"
    scale: str = "none"
    flip_average: bool = False
    dropout: float = 0.5
    input_size: int = 28
    classes: tuple[str, ...] = MICRO_CLASSES


class MicroAttnNet(nn.Module):
    """Shallow flow CNN with attention. Input ``(N, 3, 28, 28)`` flow in ``[0, 1]``; output ``(N, K)`` logits.

    3x3 convolution (28x28) -> 3x3/3 max pool (10x10) -> batch norm -> ReLU -> attention -> 3x3 convolution, batch
    norm, ReLU -> 2x2 average pool (5x5) -> flatten -> dropout -> linear. Max pooling commutes with ReLU and with
    an increasing per-channel affine map, so pooling before the normalisation changes little (the batch statistics)
    and makes normalisation and activation nine times cheaper on the 2-core CPUs this trains on.
    """

    def __init__(self, config: MicroAttnNetConfig):
        super().__init__()
        if config.center not in ("none", "mean", "median"):
            raise ValueError(f"center must be none, mean or median, not {config.center!r}")
        if config.scale not in ("none", "std"):
            raise ValueError(f"scale must be none or std, not {config.scale!r}")
        self.config = config
        width = config.width
        self.conv = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)  # 28 -> 10
        self.norm = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        attention = make_attention(config.attention, width)
        self.attention = attention if attention is not None else nn.Identity()
        self.mix: nn.Module = nn.Identity()
        if config.mix:
            self.mix = nn.Sequential(
                nn.Conv2d(width, config.mix, 3, padding=1, bias=False), nn.BatchNorm2d(config.mix), nn.ReLU(inplace=True)
            )
            width = config.mix
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2)  # 10 -> 5
        self.dropout = nn.Dropout(config.dropout)
        side = ((config.input_size + 2 - 3) // 3 + 1) // 2
        self.fc = nn.Linear(side * side * width, len(config.classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 28, 28)`` flow -> ``(N, C, 5, 5)`` feature maps (before flattening)."""
        y = self.norm(self.maxpool(self.conv(_centre_flow(x, self.config.center, self.config.scale) * 2.0)))
        return self.avgpool(self.mix(self.attention(y)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc(self.dropout(self.features(x).flatten(1)))
        if self.config.flip_average and not self.training:
            logits = 0.5 * (logits + self.fc(self.features(flip_flow(x)).flatten(1)))
        return logits


def _centre_flow(x: torch.Tensor, center: str, scale: str = "none") -> torch.Tensor:
    """Shift ``(N, 3, H, W)`` flow in ``[0, 1]`` so that zero motion sits at 0: ``u`` and ``v`` minus 0.5 (``none``)
    or minus each image's own mean / median of the channel; the strain (a magnitude) minus 0.5 in every case.
    scale ``std``: the centred ``u`` and ``v`` are then divided by 4 times their per-image standard deviation."""
    uv, flat = x[:, :2], x[:, :2].flatten(2)
    if center == "mean":
        uv = uv - flat.mean(dim=2)[:, :, None, None]
    elif center == "median":
        # the lower median, as torch.median gives it; through a sort, which ONNX exports (as TopK), unlike median
        uv = uv - flat.sort(dim=2).values[:, :, (flat.shape[2] - 1) // 2, None, None]
    else:
        uv = uv - 0.5
    if scale == "std":
        uv = uv / (4.0 * flat.std(dim=2)[:, :, None, None] + 1e-3)
    return torch.cat([uv, x[:, 2:] - 0.5], dim=1)


def flip_flow(x: torch.Tensor) -> torch.Tensor:
    """Mirror flow left-right: every channel is flipped along the width and ``u`` (channel 0) becomes ``1 - u``.

    A horizontal mirror of the face reverses horizontal motion; the min-max normalised image of ``-u`` is exactly
    ``1 - (normalised u)``, and ``v`` and the strain (a magnitude) are only mirrored. Used by the training's flip
    augmentation and by ``flip_average``. x: ``(N, 3, H, W)`` float in ``[0, 1]``. Returns a new tensor.
    """
    y = x.flip(-1)
    return torch.cat([1.0 - y[:, :1], y[:, 1:]], dim=1)


@dataclass(frozen=True)
class MicroTransformerConfig:
    """Architecture of :class:`MicroTransformerNet`.

    width: channels of the 3x3 convolution on the 28x28 flow; patch: side of the square patches that become
    tokens (28 / 4 = a 7x7 grid of 49 facial regions); dim: token size; depth: self-attention layers; heads:
    attention heads per layer; mlp: hidden size of each layer's feed-forward block.
    """

    width: int = 16
    patch: int = 4
    dim: int = 32
    depth: int = 2
    heads: int = 4
    mlp: int = 64
    dropout: float = 0.1
    head_dropout: float = 0.5
    input_size: int = 28
    classes: tuple[str, ...] = MICRO_CLASSES


class MicroTransformerNet(nn.Module):
    """Self-attention between facial regions. Input ``(N, 3, 28, 28)`` flow in ``[0, 1]``; output ``(N, K)``.

    3x3 convolution, batch norm, ReLU (28x28) -> ``patch`` x ``patch`` patch embedding (a 7x7 grid of region tokens)
    + learned position embedding -> ``depth`` pre-norm transformer layers (every region attends to every other:
    a brow movement can be read together with the mouth) -> layer norm -> mean over regions -> dropout -> linear.
    """

    def __init__(self, config: MicroTransformerConfig):
        super().__init__()
        self.config = config
        side = config.input_size // config.patch
        self.stem = nn.Sequential(
            nn.Conv2d(3, config.width, 3, padding=1, bias=False), nn.BatchNorm2d(config.width), nn.ReLU(inplace=True)
        )
        self.embed = nn.Conv2d(config.width, config.dim, config.patch, stride=config.patch)
        self.pos = nn.Parameter(torch.zeros(1, side * side, config.dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            config.dim, config.heads, config.mlp, config.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.dim)
        self.dropout = nn.Dropout(config.head_dropout)
        self.fc = nn.Linear(config.dim, len(config.classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(self.stem((x - 0.5) * 2.0)).flatten(2).transpose(1, 2) + self.pos  # (N, regions, dim)
        t = self.norm(self.encoder(t))
        return self.fc(self.dropout(t.mean(1)))
