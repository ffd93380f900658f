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


def _uv_levels(x: torch.Tensor, level_u: float, level_v: float) -> torch.Tensor:
    """The same motion seen through another min-max normalisation: u and v moved by constant levels."""
    y = x.clone()
    y[:, 0] += level_u
    y[:, 1] += level_v
    return y


def test_median_centring_removes_the_level_of_still_pixels():
    from emoscope.models.micro import _centre_flow

    torch.manual_seed(0)
    x = torch.rand(3, 3, 28, 28) * 0.3
    moved = _uv_levels(x, 0.4, 0.2)
    a, b = _centre_flow(x, "median"), _centre_flow(moved, "median")
    assert torch.allclose(a, b, atol=1e-6)  # the network no longer sees the level of the still pixels
    assert torch.allclose(_centre_flow(x, "none"), x - 0.5)  # the default is unchanged
    assert not torch.allclose(_centre_flow(x, "none"), _centre_flow(moved, "none"))
    flat = x[:, :2].flatten(2)
    assert torch.allclose(a[:, :2].flatten(2).median(dim=2).values, torch.zeros(3, 2), atol=1e-6)
    assert torch.allclose(_centre_flow(x, "mean")[:, :2].flatten(2).mean(dim=2), torch.zeros(3, 2), atol=1e-6)
    assert torch.allclose(a[:, 2], x[:, 2] - 0.5)  # the strain channel is not centred
    s = _centre_flow(x, "median", "std")[:, :2].flatten(2)
    assert torch.allclose(s.std(dim=2), flat.std(dim=2) / (4 * flat.std(dim=2) + 1e-3), atol=1e-5)


def test_centred_network_answers_the_same_to_a_shifted_normalisation():
    torch.manual_seed(0)
    net = create_model("micro_attn_plain_median").eval()
    plain = create_model("micro_attn_plain").eval()
    plain.load_state_dict(net.state_dict())  # same weights, only the input centring differs
    x = torch.rand(4, 3, 28, 28) * 0.5
    moved = _uv_levels(x, 0.3, 0.2)
    assert torch.allclose(net(x), net(moved), atol=1e-5)
    assert not torch.allclose(plain(x), plain(moved), atol=1e-3)


def test_flip_average_is_mirror_invariant_in_eval_mode_only():
    from emoscope.tasks.micro.augment import flip_flow

    torch.manual_seed(0)
    net = create_model("micro_attn_plain_tta")
    twin = create_model("micro_attn_plain")
    twin.load_state_dict(net.state_dict())
    x = torch.rand(4, 3, 28, 28)
    net.eval(), twin.eval()
    assert torch.allclose(net(x), net(flip_flow(x)), atol=1e-5)
    assert torch.allclose(net(x), 0.5 * (twin(x) + twin(flip_flow(x))), atol=1e-5)
    net.train(), twin.train()
    torch.manual_seed(1)
    a = net(x)
    torch.manual_seed(1)
    assert torch.allclose(a, twin(x))  # training sees one view: the same network trains the same way


def test_bad_centring_options_are_refused():
    from emoscope.models.micro import MicroAttnNet, MicroAttnNetConfig

    with pytest.raises(ValueError, match="center"):
        MicroAttnNet(MicroAttnNetConfig(center="mode"))
    with pytest.raises(ValueError, match="scale"):
        MicroAttnNet(MicroAttnNetConfig(scale="mad"))


@pytest.mark.parametrize("name", ["micro_attn_plain_median", "micro_attn_plain_tta"])
def test_centred_networks_export_to_onnx(tmp_path, name):
    import numpy as np
    import onnxruntime as ort

    from emoscope.tasks.micro.export import export_micro_onnx

    torch.manual_seed(0)
    net = create_model(name).eval()
    path = export_micro_onnx(net, tmp_path / "m.onnx")
    x = torch.rand(5, 3, 28, 28)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(out, net(x).detach().numpy(), atol=1e-5)
