import pytest
import torch

from emoscope.models import create_model, get_config, list_models
from emoscope.models.attention import CBAM, CoordAttention, SqueezeExcite, make_attention
from emoscope.models.layers import InputStandardize


def test_registry_lists_baseline_and_attention_models():
    names = list_models()
    assert {"expr_resnet_plain", "expr_resnet_cbam"} <= set(names)
    assert get_config("expr_resnet_plain").attention == "none"
    assert get_config("expr_resnet_cbam").attention == "cbam"


@pytest.mark.parametrize("name", sorted(n for n in list_models() if n.startswith("expr_")))
def test_every_registered_model_builds_and_runs(name):
    net = create_model(name).eval()
    out = net(torch.rand(3, 1, 48, 48) * 255)
    cfg = get_config(name)
    assert set(out) == set(cfg.heads)
    for head, classes in cfg.heads.items():
        assert out[head].shape == (3, len(classes))
        assert torch.isfinite(out[head]).all()


def test_attention_changes_the_network_only_by_its_modules():
    plain = sum(p.numel() for p in create_model("expr_resnet_plain").parameters())
    cbam = sum(p.numel() for p in create_model("expr_resnet_cbam").parameters())
    assert 0 < cbam - plain < 0.05 * plain  # attention is light: < 5 % more parameters


def test_unknown_model_and_attention_names_are_errors():
    with pytest.raises(KeyError, match="unknown model"):
        create_model("no_such_net")
    with pytest.raises(KeyError, match="unknown attention"):
        make_attention("nope", 8)


def test_config_overrides_change_heads():
    net = create_model("expr_resnet_plain", heads={"x": ("a", "b")})
    assert net(torch.rand(1, 1, 48, 48))["x"].shape == (1, 2)


@pytest.mark.parametrize("cls", [SqueezeExcite, CBAM, CoordAttention])
def test_attention_modules_keep_shape_and_reweight(cls):
    torch.manual_seed(0)
    m = cls(32).eval()
    x = torch.randn(2, 32, 12, 10)
    y = m(x)
    assert y.shape == x.shape
    assert not torch.allclose(x, y)
    # sigmoid gates only scale the features: |y| <= |x| everywhere
    assert (y.abs() <= x.abs() + 1e-6).all()


def test_input_standardize_removes_brightness_and_contrast():
    x = torch.rand(2, 1, 48, 48) * 100 + 20
    norm = InputStandardize()
    a, b = norm(x), norm(1.7 * x + 30)
    assert torch.allclose(a, b, atol=1e-4)
    assert torch.allclose(a.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-5)
    flat = norm(torch.full((1, 1, 48, 48), 128.0))
    assert torch.isfinite(flat).all() and flat.abs().max() == 0


def test_a_users_model_joins_the_built_in_ones_in_a_fresh_process():
    """Registering first must not hide the built-in models, nor let a user take a built-in name."""
    import subprocess
    import sys

    code = (
        "from torch import nn\n"
        "from emoscope.models import create_model, list_models, register_model\n"
        "register_model('mine', lambda cfg: nn.Linear(2, 2), None, 'a user model')\n"
        "names = list_models()\n"
        "assert 'mine' in names and 'expr_resnet_cbam' in names, sorted(names)\n"
        "assert isinstance(create_model('mine'), nn.Linear)\n"
        "try:\n"
        "    register_model('expr_resnet_cbam', lambda cfg: nn.Linear(2, 2), None)\n"
        "except KeyError as e:\n"
        "    assert 'already registered' in str(e)\n"
        "else:\n"
        "    raise AssertionError('a built-in name was taken')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
