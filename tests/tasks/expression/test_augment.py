import torch

from emoscope.tasks.expression.augment import augment_batch


def _batch():
    torch.manual_seed(0)
    return torch.rand(8, 1, 48, 48) * 255


def test_augment_keeps_shape_and_pixel_range():
    y = augment_batch(_batch(), torch.Generator().manual_seed(1))
    assert y.shape == (8, 1, 48, 48)
    assert y.min() >= 0 and y.max() <= 255


def test_augment_is_reproducible_from_the_generator_seed():
    x = _batch()
    a = augment_batch(x, torch.Generator().manual_seed(3))
    b = augment_batch(x, torch.Generator().manual_seed(3))
    c = augment_batch(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_identity_settings_return_the_input_or_its_mirror():
    x = _batch()
    kw = dict(max_rotate_deg=0, scale=(1, 1), max_shift=0, erase_p=0, gamma=(1, 1))
    same = augment_batch(x, torch.Generator().manual_seed(0), flip=False, **kw)
    assert torch.allclose(same, x, atol=1e-3)
    flipped = augment_batch(x, torch.Generator().manual_seed(0), flip=True, **kw)
    for i in range(len(x)):  # every image is either unchanged or mirrored left-right
        assert torch.allclose(flipped[i], x[i], atol=1e-3) or torch.allclose(flipped[i], x[i].flip(-1), atol=1e-3)
    assert not torch.allclose(flipped, x, atol=1e-3)
