"""PatchGAN discriminators (pix2pixHD layout) that also return their intermediate features, and
the cut of the tight local crop that the local discriminator sees."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PatchDiscriminator(nn.Module):
    """4x4 convs: ``n_layers`` stride-2 layers, one stride-1 layer, a 1-channel patch head.
    Returns ``(logits, [feature map of every layer before the head])``."""

    def __init__(
        self, in_channels: int = 3, channels: int = 64, n_layers: int = 3, spectral_norm: bool = False
    ):
        super().__init__()
        norm_conv = nn.utils.spectral_norm if spectral_norm else (lambda m: m)

        def block(cin: int, cout: int, stride: int, norm: bool) -> nn.Sequential:
            layers: list[nn.Module] = [norm_conv(nn.Conv2d(cin, cout, 4, stride, 2))]
            if norm and not spectral_norm:
                layers.append(nn.InstanceNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return nn.Sequential(*layers)

        blocks = [block(in_channels, channels, 2, norm=False)]
        ch = channels
        for _ in range(1, n_layers):
            nxt = min(ch * 2, 512)
            blocks.append(block(ch, nxt, 2, norm=True))
            ch = nxt
        nxt = min(ch * 2, 512)
        blocks.append(block(ch, nxt, 1, norm=True))
        self.blocks = nn.ModuleList(blocks)
        self.head = norm_conv(nn.Conv2d(nxt, 1, 4, 1, 2))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.head(x), features


def crop_local(x: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Cut each sample's box (``N x 4`` x0, y0, x1, y1 in pixels) and resize it to ``size``;
    differentiable, so the local discriminator's gradient reaches the generator."""
    crops = []
    for sample, (x0, y0, x1, y1) in zip(x, boxes.tolist(), strict=True):
        patch = sample[:, y0:y1, x0:x1].unsqueeze(0)
        crops.append(
            F.interpolate(patch, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
        )
    return torch.cat(crops, 0)


def build_discriminators(model_cfg, loss_cfg) -> dict[str, PatchDiscriminator]:
    """Only the discriminators some loss term uses: a weight of 0 builds nothing."""
    nets: dict[str, PatchDiscriminator] = {}
    if loss_cfg.adv_global > 0 or loss_cfg.fm_global > 0:
        nets["global"] = PatchDiscriminator(
            3, model_cfg.disc_channels, model_cfg.disc_layers_global, model_cfg.spectral_norm
        )
    if loss_cfg.adv_local > 0 or loss_cfg.fm_local > 0:
        nets["local"] = PatchDiscriminator(
            3, model_cfg.disc_channels, model_cfg.disc_layers_local, model_cfg.spectral_norm
        )
    return nets
