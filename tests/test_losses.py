"""Each loss on its own: zero for identical inputs, positive otherwise, gradients where they belong."""

from __future__ import annotations

import pytest
import torch

from mouthsynth.losses import PerceptualLoss, boundary_weighted_l1, d_loss, feature_matching, g_loss
from mouthsynth.nets.discriminator import PatchDiscriminator
from mouthsynth.nets.generator import MobileNetUNet


def _pair(seed=0, n=2, size=32):
    g = torch.Generator().manual_seed(seed)
    real = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    fake = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    return fake, real


def _mask(size=32):
    mask = torch.zeros(2, 1, size, size)
    mask[:, :, 8:24, 8:24] = 1
    boundary = torch.zeros_like(mask)
    boundary[:, :, 7:25, 7:25] = 1
    boundary[:, :, 10:22, 10:22] = 0
    return mask, boundary


def test_boundary_l1_zero_for_identical_and_positive_otherwise():
    fake, real = _pair()
    mask, boundary = _mask()
    assert boundary_weighted_l1(real, real, mask, boundary, 5.0) == 0
    assert boundary_weighted_l1(fake, real, mask, boundary, 5.0) > 0


def test_boundary_l1_weighs_boundary_pixels_more():
    _, real = _pair()
    mask, boundary = _mask()
    on_edge, deep = real.clone(), real.clone()
    on_edge[:, :, 8, 12] += 1.0  # one pixel on the boundary band
    deep[:, :, 16, 16] += 1.0  # one pixel deep inside
    edge_loss = boundary_weighted_l1(on_edge, real, mask, boundary, 5.0)
    deep_loss = boundary_weighted_l1(deep, real, mask, boundary, 5.0)
    assert edge_loss.item() == pytest.approx(5 * deep_loss.item(), rel=1e-5)


def test_boundary_l1_scale_does_not_depend_on_mask_size():
    small = torch.zeros(1, 1, 64, 64)
    small[..., 20:30, 20:30] = 1
    large = torch.zeros(1, 1, 64, 64)
    large[..., 5:60, 5:60] = 1
    real = torch.zeros(1, 3, 64, 64)
    fake = torch.full((1, 3, 64, 64), 0.5)
    none = torch.zeros_like(small)
    assert boundary_weighted_l1(fake, real, small, none, 5.0) == pytest.approx(
        boundary_weighted_l1(fake, real, large, none, 5.0).item()
    )


def test_boundary_l1_ignores_pixels_outside_the_region():
    fake, real = _pair()
    mask, boundary = _mask()
    outside = real.clone()
    outside[:, :, :4, :4] += 1
    assert boundary_weighted_l1(outside, real, mask, boundary, 5.0) == 0


@pytest.mark.parametrize("mode", ["lsgan", "hinge"])
def test_adversarial_losses_and_their_gradients(mode):
    d = PatchDiscriminator(3, 8, 2)
    fake_param = torch.nn.Parameter(torch.randn(2, 3, 32, 32))
    fake_logits, _ = d(fake_param)
    real_logits, _ = d(torch.randn(2, 3, 32, 32))
    perfect_real, perfect_fake = torch.ones(4), -torch.ones(4) if mode == "hinge" else torch.zeros(4)
    assert d_loss(perfect_real, perfect_fake, mode) == 0
    assert d_loss(real_logits, fake_logits, mode) > 0
    g = g_loss(fake_logits, mode)
    g.backward()
    assert fake_param.grad is not None and fake_param.grad.abs().sum() > 0
    if mode == "lsgan":
        assert g_loss(torch.ones(3), mode) == 0


def test_feature_matching_zero_for_identical_and_no_gradient_into_real():
    d = PatchDiscriminator(3, 8, 2)
    fake = torch.randn(2, 3, 32, 32, requires_grad=True)
    real = torch.randn(2, 3, 32, 32, requires_grad=True)
    _, ff = d(fake)
    _, rf = d(real)
    assert feature_matching(rf, rf) == 0
    loss = feature_matching(ff, rf)
    assert loss > 0
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert real.grad is None  # the real branch is detached


def test_perceptual_zero_for_identical_positive_otherwise_and_frozen():
    loss = PerceptualLoss("vgg19", allow_random=True)
    fake, real = _pair(size=32)
    fake.requires_grad_()
    assert loss(real, real) == 0
    value = loss(fake, real)
    assert value > 0
    value.backward()
    assert fake.grad is not None
    assert all(not p.requires_grad for p in loss.vgg.parameters())
    loss.train()
    assert not loss.vgg.training  # always in eval mode


def test_perceptual_with_the_real_vgg16_weights(weights_dir):
    loss = PerceptualLoss("vgg16")
    assert loss.net_name == "vgg16" and loss.weights_sha256 and len(loss.weights_sha256) == 64
    _, real = _pair(size=32)
    slightly = real + 0.02 * torch.randn_like(real)
    strongly = real + 0.5 * torch.randn_like(real)
    assert loss(slightly, real) < loss(strongly, real)


def test_adversarial_gradients_reach_only_the_network_being_trained():
    """The D step (fake detached) trains D and not G; the G step (D frozen) trains G and not D."""
    torch.manual_seed(0)
    gen, disc = MobileNetUNet(width=0.25), PatchDiscriminator(3, 8, 2)
    x = torch.rand(2, 4, 32, 32) * 2 - 1
    x[:, 3] = (x[:, 3] > 0).float()
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    d_loss(disc(real)[0], disc(gen(x).detach())[0]).backward()
    assert all(p.grad is None for p in gen.parameters())
    assert all(p.grad is not None for p in disc.parameters())
    disc.zero_grad(set_to_none=True)
    disc.requires_grad_(False)
    g_loss(disc(gen(x))[0]).backward()
    assert all(p.grad is None for p in disc.parameters())
    assert sum(p.grad.abs().sum() for p in gen.parameters() if p.grad is not None) > 0


def test_jitter_consistency_counts_only_fill_change_the_truth_lacks():
    from mouthsynth.losses import jitter_consistency

    torch.manual_seed(0)
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 10:20, 8:24] = 1
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(2, 2, 3)
    # The same composited fill in both views: no flicker, whatever the fill.
    fill = torch.rand(2, 3, 32, 32, requires_grad=True)
    fake = mask * fill + (1 - mask) * real
    assert jitter_consistency(fake, real, mask, fake, real, mask, identity).item() == 0
    # Perfect fills in both views: the truth's own change is not flicker.
    real2 = real + 0.3 * mask
    assert jitter_consistency(real, real, mask, real2, real2, mask, identity).item() == pytest.approx(0)
    # A fill that changes where the truth does not: penalised, and the gradient reaches both fills.
    fill2 = torch.rand(2, 3, 32, 32, requires_grad=True)
    fake2 = mask * fill2 + (1 - mask) * real
    loss = jitter_consistency(fake, real, mask, fake2, real, mask, identity)
    expected = ((fill - fill2).abs() * mask).sum() / (mask.sum() * 3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    assert fill.grad.abs().sum() > 0 and fill2.grad.abs().sum() > 0
