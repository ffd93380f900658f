"""The built-in models and their configurations."""

from __future__ import annotations

from emoscope.models.expression import ExpressionNet, ExpressionNetConfig
from emoscope.models.micro import (
    MicroAttnNet,
    MicroAttnNetConfig,
    MicroTransformerConfig,
    MicroTransformerNet,
    STSTNet,
    STSTNetConfig,
)
from emoscope.models.registry import register_model

register_model(
    "expr_resnet_plain",
    ExpressionNet,
    ExpressionNetConfig(attention="none"),
    "expression ResNet, 48 px grey, no attention (ablation baseline)",
)
register_model(
    "expr_resnet_cbam",
    ExpressionNet,
    ExpressionNetConfig(attention="cbam"),
    "expression ResNet with CBAM channel+spatial attention in every block (shipped model)",
)
register_model(
    "expr_resnet_se",
    ExpressionNet,
    ExpressionNetConfig(attention="se"),
    "expression ResNet with squeeze-and-excitation channel attention",
)
register_model(
    "expr_resnet_coord",
    ExpressionNet,
    ExpressionNetConfig(attention="coord"),
    "expression ResNet with coordinate attention",
)

# micro-expressions: (N, 3, 28, 28) optical flow (u, v, strain) -> (N, 3) logits (negative, positive, surprise)
register_model(
    "micro_ststnet",
    STSTNet,
    STSTNetConfig(),
    "micro-expressions: STSTNet (Liong et al. 2019), shallow three-stream CNN on 28 px flow (published baseline)",
)
register_model(
    "micro_attn",
    MicroAttnNet,
    MicroAttnNetConfig(attention="cbam"),
    "micro-expressions: STSTNet-width flow CNN with CBAM channel+spatial attention (ours)",
)
register_model(
    "micro_attn_plain",
    MicroAttnNet,
    MicroAttnNetConfig(attention="none"),
    "micro-expressions: micro_attn without attention (ablation twin)",
)
register_model(
    "micro_attn_plain_wide",
    MicroAttnNet,
    MicroAttnNetConfig(attention="none", width=32, mix=64),
    "micro-expressions: micro_attn_plain at twice the width (32 / 64 channels): does capacity limit it?",
)
register_model(
    "micro_attn_plain_median",
    MicroAttnNet,
    MicroAttnNetConfig(attention="none", center="median"),
    "micro-expressions: micro_attn_plain with u and v measured from each image's median (its still pixels)",
)
register_model(
    "micro_attn_plain_median_std",
    MicroAttnNet,
    MicroAttnNetConfig(attention="none", center="median", scale="std"),
    "micro-expressions: micro_attn_plain_median with u and v also divided by each image's standard deviation",
)
register_model(
    "micro_attn_plain_tta",
    MicroAttnNet,
    MicroAttnNetConfig(attention="none", flip_average=True),
    "micro-expressions: micro_attn_plain, predicting on the flow and its mirror image (mean logits)",
)
register_model(
    "micro_attn_plain_mean",
    MicroAttnNet,
    MicroAttnNetConfig(attention="none", center="mean"),
    "micro-expressions: micro_attn_plain with u and v measured from each image's mean",
)
register_model(
    "micro_attn_coord",
    MicroAttnNet,
    MicroAttnNetConfig(attention="coord"),
    "micro-expressions: micro_attn with coordinate attention instead of CBAM",
)
register_model(
    "micro_transformer",
    MicroTransformerNet,
    MicroTransformerConfig(),
    "micro-expressions: self-attention between 49 facial-region tokens of the 28 px flow (small transformer)",
)
