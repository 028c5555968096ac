"""The generator: a MobileNetV2 encoder, a light decoder, and U-Net skip connections from every
encoder resolution (the "tunnel"), compositing its output with the known pixels.

Input ``N x 4 x H x W``: the white-filled crop (RGB in [-1, 1]) and the interior mask (1 = fill).
Output ``N x 3 x H x W`` in [-1, 1]: ``mask * generated + (1 - mask) * input``, so known pixels
are returned bit-identical. Only convolutions, BatchNorm, ReLU6, nearest upsampling, concat and
tanh: everything exports to ONNX and mobile runtimes. H and W must be multiples of 32.
"""

from __future__ import annotations

import torch
from torch import nn

from mouthsynth.nets.mobilenet import ConvBNActivation, InvertedResidual, make_divisible

# Encoder stages (expansion t, channels c, repeats n, stride s of the first block), MobileNetV2
# style but slimmer: a 128-px mouth crop needs far fewer channels than ImageNet. t = None takes
# the model's ``expansion`` (config ``model.expansion``).
ENCODER_STAGES = [
    (1, 16, 1, 1),  # 64 px
    (None, 24, 2, 2),  # 32 px
    (None, 32, 3, 2),  # 16 px
    (None, 64, 2, 2),  # 8 px
    (None, 96, 2, 2),  # 4 px
]
STEM_CHANNELS = 16
DECODER_OUT = 16  # channels at full resolution before the RGB head


class DecoderBlock(nn.Module):
    """Upsample x2 (nearest: no transposed-conv checkerboard), concat the skip, fuse with a 3x3
    conv, refine with a residual depthwise-separable block."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.fuse = ConvBNActivation(in_ch + skip_ch, out_ch, kernel=3)
        self.refine = InvertedResidual(out_ch, out_ch, 1, 2)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.refine(self.fuse(torch.cat([self.up(x), skip], 1)))


class MobileNetUNet(nn.Module):
    def __init__(self, width: float = 1.0, expansion: float = 4.0):
        super().__init__()
        self.width = width
        self.expansion = expansion
        channels = make_divisible(STEM_CHANNELS * width)
        self.stem = ConvBNActivation(4, channels, stride=2)  # 1/2
        # A skip leaves the encoder just before each downsampling: the last map at a resolution.
        skip_channels = [4]  # full resolution: the input itself
        stages: list[nn.Module] = []
        for t, c, n, s in ENCODER_STAGES:
            out_ch = make_divisible(c * width)
            if s == 2:
                skip_channels.append(channels)
            ratio = expansion if t is None else t
            blocks = [
                InvertedResidual(channels if i == 0 else out_ch, out_ch, s if i == 0 else 1, ratio)
                for i in range(n)
            ]
            stages.append(nn.Sequential(*blocks))
            channels = out_ch
        self.stages = nn.ModuleList(stages)
        self._downsamples = [s == 2 for _t, _c, _n, s in ENCODER_STAGES]
        # Decoder: one block per encoder resolution, from 1/32 back to full resolution.
        widths = skip_channels[1:][::-1] + [make_divisible(DECODER_OUT * width)]
        blocks = []
        for skip_ch, out_ch in zip(skip_channels[::-1], widths, strict=True):
            blocks.append(DecoderBlock(channels, skip_ch, out_ch))
            channels = out_ch
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(channels, 3, 3, 1, 1)

    def generate(self, x: torch.Tensor) -> torch.Tensor:
        """The raw generated RGB, before compositing."""
        skips = [x]
        h = self.stem(x)
        for stage, downsamples in zip(self.stages, self._downsamples, strict=True):
            if downsamples:
                skips.append(h)
            h = stage(h)
        for block, skip in zip(self.decoder, reversed(skips), strict=True):
            h = block(h, skip)
        return torch.tanh(self.head(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb, mask = x[:, :3], x[:, 3:4]
        return mask * self.generate(x) + (1 - mask) * rgb


def build_generator(model_cfg) -> MobileNetUNet:
    return MobileNetUNet(width=model_cfg.width, expansion=model_cfg.expansion)
