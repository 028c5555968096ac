"""Perceptual loss: L1 between pretrained VGG features of fake and real at relu1_1 ... relu5_1,
weighted 1/32, 1/16, 1/8, 1/4, 1 (pix2pixHD)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mouthsynth.nets.vgg import Backbone, load_vgg

LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


class PerceptualLoss(nn.Module):
    def __init__(self, net: str = "vgg19", weights_path: str | None = None, allow_random: bool = False):
        super().__init__()
        backbone: Backbone = load_vgg(net, weights_path, allow_random=allow_random)
        self.vgg = backbone.net
        self.net_name = backbone.net.name
        self.weights_path = str(backbone.path) if backbone.path else None
        self.weights_sha256 = backbone.sha256

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        # One pass over both halves of the batch; real features carry no gradient.
        feats = self.vgg(torch.cat([fake, real.detach()], 0))
        loss = fake.new_zeros(())
        for w, f in zip(LAYER_WEIGHTS, feats, strict=True):
            f_fake, f_real = f.chunk(2)
            loss = loss + w * F.l1_loss(f_fake, f_real.detach())
        return loss
