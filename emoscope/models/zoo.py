"""The built-in models and their configurations."""

from __future__ import annotations

from emoscope.models.expression import ExpressionNet, ExpressionNetConfig
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
