"""The generator and the discriminators: shapes, ranges, compositing, cost."""

from __future__ import annotations

import pytest
import torch

from mouthsynth.config import LossConfig, ModelConfig
from mouthsynth.nets.cost import count_macs
from mouthsynth.nets.discriminator import PatchDiscriminator, build_discriminators, crop_local
from mouthsynth.nets.generator import MobileNetUNet
from mouthsynth.nets.mobilenet import InvertedResidual


def _batch(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 4, size, size, generator=g) * 2 - 1
    x[:, 3] = (torch.rand(n, size, size, generator=g) < 0.3).float()
    x[:, :3] = torch.where(x[:, 3:4] > 0, torch.ones_like(x[:, :3]), x[:, :3])
    return x


@pytest.mark.parametrize("size", [(64, 64), (96, 160)])
def test_generator_is_fully_convolutional_with_outputs_in_range(size):
    net = MobileNetUNet(width=0.5).eval()
    x = torch.rand(2, 4, *size) * 2 - 1
    x[:, 3] = (x[:, 3] > 0).float()
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 3, *size)
    assert y.min() >= -1 and y.max() <= 1


def test_composite_keeps_known_pixels_bit_identical():
    net = MobileNetUNet(width=0.5).eval()
    for m in net.modules():  # non-trivial weights and statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
    x = _batch()
    with torch.no_grad():
        y = net(x)
    known = x[:, 3:4].expand(-1, 3, -1, -1) == 0
    assert torch.equal(y[known], x[:, :3][known])
    # ... and the interior is generated, not the white input.
    assert (y[~known] - 1).abs().mean() > 1e-3


def test_skip_connections_reach_every_resolution():
    net = MobileNetUNet(width=1.0)
    # One decoder block per encoder resolution: full, 1/2, 1/4, 1/8, 1/16.
    assert len(net.decoder) == 5
    skips = [b.fuse[0].in_channels - prev for b, prev in zip(net.decoder, [96, 64, 32, 24, 16], strict=True)]
    assert skips == [64, 32, 24, 16, 4]


def test_inverted_residual_uses_torchvision_names_and_residual():
    block = InvertedResidual(16, 16, 1, 4)
    names = set(block.state_dict())
    assert {"conv.0.0.weight", "conv.1.0.weight", "conv.2.weight", "conv.3.weight"} <= names
    assert block.use_res_connect
    assert not InvertedResidual(16, 24, 2, 4).use_res_connect


def test_generator_cost_is_under_budget():
    info = count_macs(MobileNetUNet(width=1.0), 128)
    assert info["macs"] <= 0.5e9
    assert info["macs"] > 0.05e9  # counted, not zero
    assert count_macs(MobileNetUNet(width=0.5), 128)["macs"] < info["macs"]


def test_discriminator_returns_logits_and_features():
    d = PatchDiscriminator(3, 16, 3)
    logits, feats = d(torch.randn(2, 3, 64, 64))
    assert logits.shape[:2] == (2, 1) and logits.shape[-1] > 1  # a patch map
    assert len(feats) == 4
    assert all(f.shape[0] == 2 for f in feats)
    sn = PatchDiscriminator(3, 16, 2, spectral_norm=True)
    assert any("weight_orig" in k for k in sn.state_dict())


def test_only_the_discriminators_in_use_are_built():
    model = ModelConfig(disc_channels=8)
    assert set(build_discriminators(model, LossConfig())) == {"global", "local"}
    off = LossConfig(adv_local=0, fm_local=0)
    assert set(build_discriminators(model, off)) == {"global"}
    assert build_discriminators(model, LossConfig(adv_global=0, fm_global=0, adv_local=0, fm_local=0)) == {}


def test_crop_local_cuts_each_box_and_passes_gradients():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32).requires_grad_()
    boxes = torch.tensor([[0, 0, 16, 16], [8, 4, 24, 20]])
    out = crop_local(x, boxes, 16)
    assert out.shape == (2, 3, 16, 16)
    assert torch.equal(out[0], x[0, :, :16, :16])  # same size: an exact cut
    assert torch.equal(out[1], x[1, :, 4:20, 8:24])
    out.sum().backward()
    assert x.grad[0, :, :16, :16].eq(1).all() and x.grad[0, :, 16:, :].eq(0).all()


def _trained_looking(net: MobileNetUNet) -> MobileNetUNet:
    with torch.no_grad():  # BatchNorm statistics of a trained net, not the identity at init
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
    return net


@pytest.mark.parametrize(
    ("width", "expansion"),
    [(0.5, 8), (0.5, 6), (0.75, 4), (0.75, 6)],  # twice / 1.5x the hidden channels, wider, both
)
def test_widening_keeps_what_the_generator_computes(width, expansion):
    from mouthsynth.nets.widen import widen_to_fit

    torch.manual_seed(0)
    narrow = _trained_looking(MobileNetUNet(width=0.5, expansion=4))
    x = torch.rand(2, 4, 64, 64) * 2 - 1
    wide = MobileNetUNet(width=width, expansion=expansion)
    assert sum(p.numel() for p in wide.parameters()) > sum(p.numel() for p in narrow.parameters())
    wide.load_state_dict(widen_to_fit(narrow.state_dict(), wide))
    narrow.eval(), wide.eval()
    with torch.no_grad():
        torch.testing.assert_close(wide.generate(x), narrow.generate(x), atol=1e-5, rtol=1e-4)
        # Training mode too: the copies share their batch statistics (summed in another order).
        narrow.train(), wide.train()
        torch.testing.assert_close(wide.generate(x), narrow.generate(x), atol=2e-4, rtol=1e-3)
    # The copies' shares of the projection differ, so training can pull them apart.
    projection = wide.state_dict()["stages.1.0.conv.2.weight"]
    old = narrow.state_dict()["stages.1.0.conv.2.weight"].shape[1]
    copies = projection.shape[1] - old
    assert not torch.allclose(projection[:, :copies], projection[:, old : old + copies])


def test_widening_passes_a_fitting_state_through_and_refuses_to_shrink():
    from mouthsynth.nets.widen import widen_to_fit

    net = MobileNetUNet(width=0.5, expansion=6)
    tensors = net.state_dict()
    assert widen_to_fit(tensors, MobileNetUNet(width=0.5, expansion=6)) is tensors
    with pytest.raises(ValueError, match="cannot shrink"):
        widen_to_fit(tensors, MobileNetUNet(width=0.5, expansion=4))
    with pytest.raises(ValueError, match="cannot shrink"):
        widen_to_fit(MobileNetUNet(width=0.75).state_dict(), MobileNetUNet(width=0.5))
