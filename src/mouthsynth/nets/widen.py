"""Grow a trained generator (more encoder expansion, a larger width) without changing what it
computes (Net2WiderNet, Chen et al. 2016), so a committed state can continue as a larger model
instead of starting over.

Every channel space of the network (the stem's output, each stage's channels, each block's
hidden channels, each decoder level) grows by copying old channels: new channel ``j`` is old
channel ``j mod old``. A layer writing into a space copies its rows (weights, BatchNorm) by that
map; a layer reading from a space shares each old input column out among its copies, so its
output is unchanged, in evaluation and in training mode (copies have the same batch statistics).
Residual additions and U-Net concatenations read the spaces they join, so they stay exact too.
The shares are random per output channel, not 1/k each, so copies get different gradients and
drift apart under training; with equal shares they would get the same updates for ever. (Noise on
the copies' own weights would break the symmetry too, but a channel of tiny variance amplifies
it through its BatchNorm; random shares keep the output exact.)
"""

from __future__ import annotations

import torch
from torch import nn

from mouthsynth.nets.mobilenet import InvertedResidual

_BN_PARTS = ("weight", "bias", "running_mean", "running_var")


class _Widener:
    def __init__(
        self, tensors: dict[str, torch.Tensor], target: dict[str, torch.Tensor], spread: float, seed: int
    ):
        self.old = tensors
        self.new = target
        self.out = dict(tensors)
        self.spread = spread
        self.generator = torch.Generator().manual_seed(seed)

    def space(self, key: str) -> torch.Tensor:
        """The copy map of the channels ``key`` (a weight) writes: new index -> old index."""
        old, new = self.old[key].shape[0], self.new[key].shape[0]
        if new < old:
            raise ValueError(f"{key}: {old} channels cannot shrink to {new}")
        return torch.arange(new) % old

    def _shared_columns(self, weight: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        old_in = int(columns.max()) + 1
        shares = torch.rand(weight.shape[0], len(columns), 1, 1, generator=self.generator)
        shares = 1 + self.spread * (shares * 2 - 1)
        totals = torch.zeros(weight.shape[0], old_in, 1, 1).index_add_(1, columns, shares)
        return weight[:, columns] * (shares / totals[:, columns])  # x/x is exactly 1: no copies, no change

    def conv(self, prefix: str, rows: torch.Tensor, columns: torch.Tensor | None = None) -> None:
        """A convolution writing space ``rows``; ``columns``: the space it reads (None: depthwise)."""
        weight = self.old[prefix + "weight"][rows]
        self.out[prefix + "weight"] = weight if columns is None else self._shared_columns(weight, columns)
        if prefix + "bias" in self.old:
            self.out[prefix + "bias"] = self.old[prefix + "bias"][rows].clone()

    def batchnorm(self, prefix: str, rows: torch.Tensor) -> None:
        for part in _BN_PARTS:
            self.out[prefix + part] = self.old[prefix + part][rows].clone()

    def block(self, prefix: str, block: InvertedResidual, inputs: torch.Tensor) -> torch.Tensor:
        """An inverted residual block reading space ``inputs``; returns the space it writes."""
        conv = prefix + "conv."
        if len(block.conv) == 4:  # expand (conv, BN), depthwise (conv, BN), projection, its BN
            hidden = self.space(conv + "0.0.weight")
            self.conv(conv + "0.0.", hidden, inputs)
            self.batchnorm(conv + "0.1.", hidden)
            depthwise, projection, projection_bn = conv + "1.", conv + "2.", conv + "3."
        else:  # no expand layer: the depthwise conv works on the inputs' own channels
            hidden = inputs
            depthwise, projection, projection_bn = conv + "0.", conv + "1.", conv + "2."
        self.conv(depthwise + "0.", hidden)
        self.batchnorm(depthwise + "1.", hidden)
        # A residual block adds its input: its output must copy the channels the same way.
        outputs = inputs if block.use_res_connect else self.space(projection + "weight")
        self.conv(projection, outputs, hidden)
        self.batchnorm(projection_bn, outputs)
        return outputs


def widen_to_fit(
    tensors: dict[str, torch.Tensor], net: nn.Module, spread: float = 0.2, seed: int = 0
) -> dict[str, torch.Tensor]:
    """``tensors`` (the state dict of a ``MobileNetUNet`` with fewer channels anywhere: a smaller
    width, a smaller encoder expansion) made to fit ``net``, computing the same function.
    ``spread``: how unequal the copies' shares are (0 = 1/k each). Tensors that already fit pass
    through unchanged; a smaller ``net`` is a ValueError."""
    target = net.state_dict()
    if all(k in tensors and tensors[k].shape == v.shape for k, v in target.items()):
        return tensors
    missing = sorted(set(target) - set(tensors))
    if missing:
        raise ValueError(f"not a state of this generator: {missing[0]} missing")
    grow = _Widener(tensors, target, spread, seed)
    space = torch.arange(net.stem[0].in_channels)  # the input (RGB + mask) never grows
    skips = [space]
    stem = grow.space("stem.0.weight")
    grow.conv("stem.0.", stem, space)
    grow.batchnorm("stem.1.", stem)
    space = stem
    for s, (stage, downsamples) in enumerate(zip(net.stages, net._downsamples, strict=True)):
        if downsamples:
            skips.append(space)
        for b, block in enumerate(stage):
            space = grow.block(f"stages.{s}.{b}.", block, space)
    for d, (block, skip) in enumerate(zip(net.decoder, reversed(skips), strict=True)):
        prefix = f"decoder.{d}."
        joined = torch.cat([space, skip + int(space.max()) + 1])  # cat([upsampled, skip])
        fused = grow.space(prefix + "fuse.0.weight")
        grow.conv(prefix + "fuse.0.", fused, joined)
        grow.batchnorm(prefix + "fuse.1.", fused)
        space = grow.block(prefix + "refine.", block.refine, fused)
    grow.conv("head.", torch.arange(net.head.out_channels), space)
    return grow.out
