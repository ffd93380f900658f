"""Flow augmentation: a mirror negates the horizontal flow u; shifts move whole pixels; seeded and reproducible."""

import torch

from emoscope.tasks.micro.augment import augment_flow, flip_flow, shift_flow


def _flow(n: int = 6) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(n, 3, 28, 28)


def test_flip_mirrors_every_channel_and_negates_u():
    x = _flow()
    y = flip_flow(x)
    # u is min-max normalised per image, and the normalised image of -u is exactly 1 - (normalised u)
    assert torch.allclose(y[:, 0] - 0.5, -(x[:, 0].flip(-1) - 0.5))
    assert torch.equal(y[:, 1], x[:, 1].flip(-1))  # v: only mirrored
    assert torch.equal(y[:, 2], x[:, 2].flip(-1))  # strain: only mirrored
    assert torch.allclose(flip_flow(y), x)  # an involution


def test_flip_of_a_rightward_motion_is_a_leftward_motion():
    x = torch.full((1, 3, 28, 28), 0.5)
    x[0, 0, 10:14, 20:24] = 1.0  # right side of the image moves right (u > 0)
    y = flip_flow(x)
    assert torch.all(y[0, 0, 10:14, 4:8] == 0.0)  # now the left side moves left (u < 0)
    assert torch.all(y[0, 0, :, 8:] == 0.5)


def test_shift_moves_whole_pixels_and_repeats_the_border():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).view(2, 3, 5, 5)
    y = shift_flow(x, torch.tensor([1, 0]), torch.tensor([0, -2]))
    assert torch.equal(y[0, :, :, 1:], x[0, :, :, :-1]) and torch.equal(y[0, :, :, 0], x[0, :, :, 0])
    assert torch.equal(y[1, :, :-2], x[1, :, 2:]) and torch.equal(y[1, :, -1], x[1, :, -1])
    assert torch.equal(shift_flow(x, torch.zeros(2), torch.zeros(2)), x)


def test_augment_is_reproducible_and_only_mirrors_or_shifts():
    x = _flow(16)
    a = augment_flow(x, torch.Generator().manual_seed(3), flip=True, max_shift=2)
    b = augment_flow(x, torch.Generator().manual_seed(3), flip=True, max_shift=2)
    c = augment_flow(x, torch.Generator().manual_seed(4), flip=True, max_shift=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    flips = augment_flow(x, torch.Generator().manual_seed(5), flip=True, max_shift=0)
    for i in range(len(x)):
        assert torch.equal(flips[i], x[i]) or torch.allclose(flips[i], flip_flow(x[i : i + 1])[0])
    assert torch.equal(augment_flow(x, torch.Generator(), flip=False, max_shift=0), x)


def test_warp_identity_rotation_and_scale():
    from emoscope.tasks.micro.augment import warp_flow

    x = _flow(2)
    same = warp_flow(x, torch.zeros(2), torch.ones(2))
    assert torch.allclose(same, x, atol=1e-5)
    # a bright spot right of the centre turns a quarter to below (positive angle = counter-clockwise on screen
    # means the spot moves up; we only check it moved to the vertical axis, and scale 2 pushes it twice as far)
    spot = torch.zeros(1, 1, 29, 29)
    spot[0, 0, 14, 20] = 1.0
    turned = warp_flow(spot, torch.tensor([90.0]), torch.ones(1))
    r, c = divmod(int(turned[0, 0].argmax()), 29)
    assert c == 14 and abs(r - 14) == 6
    bigger = warp_flow(torch.nn.functional.pad(spot, (0, 0, 0, 0)), torch.zeros(1), torch.tensor([1.5]))
    r, c = divmod(int(bigger[0, 0].argmax()), 29)
    assert r == 14 and c == 23  # 6 px from the centre -> 9 px


def test_augment_with_warp_is_seeded():
    x = _flow()
    a = augment_flow(x, torch.Generator().manual_seed(3), rotate=8.0, scale=0.1, max_shift=2)
    b = augment_flow(x, torch.Generator().manual_seed(3), rotate=8.0, scale=0.1, max_shift=2)
    assert torch.equal(a, b) and not torch.allclose(a, x)
    assert a.shape == x.shape and float(a.min()) >= 0.0 and float(a.max()) <= 1.0
