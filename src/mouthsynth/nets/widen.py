"""Grow a trained generator's inverted residual blocks without changing what it computes
(Net2WiderNet, Chen et al. 2016), so a committed state can continue at a larger encoder
expansion instead of starting over.

Each hidden channel of a block is copied k times (its expand row, BatchNorm, depthwise filter and
BatchNorm), and the projection's weight on the channel is shared out among the copies: the
block's output is unchanged, in training and in evaluation mode (the copies have the same batch
statistics). The shares are random per output channel, not 1/k each, so the copies get
different gradients and drift apart under training; with equal shares they would get the same
updates for ever. Noise on the copies' own weights would break that too, but a hidden channel of
tiny variance amplifies it through its BatchNorm; random shares keep the output exact.
"""

from __future__ import annotations

import torch
from torch import nn

from mouthsynth.nets.mobilenet import InvertedResidual

# Inside InvertedResidual.conv with an expand layer: 0 = expand (conv, BN), 1 = depthwise (conv,
# BN), 2 = projection conv, 3 = its BN.
_HIDDEN = ("0.0.weight", "0.1.weight", "0.1.bias", "0.1.running_mean", "0.1.running_var", "1.0.weight")
_HIDDEN += ("1.1.weight", "1.1.bias", "1.1.running_mean", "1.1.running_var")


def widen_to_fit(
    tensors: dict[str, torch.Tensor], net: nn.Module, spread: float = 0.2, seed: int = 0
) -> dict[str, torch.Tensor]:
    """``tensors`` (a state dict of a generator whose blocks have fewer hidden channels, a whole
    multiple fewer) made to fit ``net``, computing the same function. ``spread``: how unequal
    the copies' shares of the projection are (0 = 1/k each). Tensors that already fit pass
    through unchanged."""
    target = net.state_dict()
    out = dict(tensors)
    generator = torch.Generator().manual_seed(seed)
    for name, module in net.named_modules():
        if not isinstance(module, InvertedResidual) or len(module.conv) != 4:
            continue  # no expand layer: nothing hidden to grow
        prefix = f"{name}.conv."
        key = prefix + "0.0.weight"
        if key not in tensors:
            continue
        old, new = tensors[key].shape[0], target[key].shape[0]
        if old == new:
            continue
        if new % old:
            raise ValueError(f"{name}: {old} hidden channels cannot grow to {new} (not a whole multiple)")
        index = torch.arange(new) % old
        for part in _HIDDEN:
            out[prefix + part] = tensors[prefix + part][index].clone()
        projection = tensors[prefix + "2.weight"]  # out x old x 1 x 1
        shares = 1 + spread * (torch.rand(projection.shape[0], new, 1, 1, generator=generator) * 2 - 1)
        totals = torch.zeros(projection.shape[0], old, 1, 1).index_add_(1, index, shares)
        out[prefix + "2.weight"] = projection[:, index] * shares / totals[:, index]
    return out
