"""The micro-expression networks: the published STSTNet layer for layer, our attention model and its twin."""

import pytest
import torch
from torch import nn

from emoscope.labels import MICRO_CLASSES
from emoscope.models import create_model, get_config, list_models
from emoscope.models.attention import CBAM

MICRO = sorted(n for n in list_models() if n.startswith("micro_"))


def test_micro_models_are_registered():
    assert {"micro_ststnet", "micro_attn", "micro_attn_plain"} <= set(MICRO)
    assert get_config("micro_attn").attention == "cbam" and get_config("micro_attn_plain").attention == "none"


@pytest.mark.parametrize("name", MICRO)
def test_micro_models_map_flow_to_three_logits(name):
    torch.manual_seed(0)
    net = create_model(name).eval()
    out = net(torch.rand(5, 3, 28, 28))
    assert out.shape == (5, len(MICRO_CLASSES)) and torch.isfinite(out).all()
    assert get_config(name).classes == MICRO_CLASSES


def test_ststnet_is_the_published_network():
    net = create_model("micro_ststnet")
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (3, 3, (3, 3), (2, 2)), (3, 5, (3, 3), (2, 2)), (3, 8, (3, 3), (2, 2))
    ]  # fmt: skip
    assert net.maxpool.kernel_size == 3 and net.maxpool.stride == 3 and net.maxpool.padding == 1
    assert net.avgpool.kernel_size == 2 and net.dropout.p == 0.5
    assert (net.fc.in_features, net.fc.out_features) == (5 * 5 * 16, 3)
    assert sum(p.numel() for p in net.parameters()) == 1683


class _AuthorsSTSTNet(nn.Module):
    """The forward pass of the authors' PyTorch STSTNet (on raw 0..255 pixels), written out for comparison."""

    def __init__(self, ours: nn.Module):
        super().__init__()
        self.ours = ours

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o = self.ours
        ys = []
        for conv, bn in zip(o.convs, o.bns, strict=True):
            y = o.relu(conv(x))
            y = bn(y)
            y = o.maxpool(y)
            ys.append(o.dropout(y))
        x = o.avgpool(torch.cat(ys, 1))
        return o.fc(x.view(x.size(0), -1))


def test_ststnet_forward_matches_the_authors_code_on_raw_pixels():
    torch.manual_seed(0)
    net = create_model("micro_ststnet").eval()
    for bn in net.bns:  # non-trivial running statistics
        bn.running_mean.uniform_(0, 50)
        bn.running_var.uniform_(100, 2000)
    x = torch.rand(4, 3, 28, 28)
    assert torch.allclose(net(x), _AuthorsSTSTNet(net)(x * 255), atol=1e-5)


def test_attention_twin_differs_only_by_the_attention_module():
    attn, plain = create_model("micro_attn"), create_model("micro_attn_plain")
    assert isinstance(attn.attention, CBAM) and isinstance(plain.attention, nn.Identity)
    n_attn = sum(p.numel() for p in attn.parameters())
    n_plain = sum(p.numel() for p in plain.parameters())
    assert n_attn - n_plain == sum(p.numel() for p in attn.attention.parameters())
    assert n_plain < 20_000  # small: 68 LOSO folds train in minutes on a laptop CPU
