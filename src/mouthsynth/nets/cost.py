"""Parameters and multiply-accumulates of a network, counted by PyTorch's flop counter."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_macs(model: torch.nn.Module, size: int = 128, in_channels: int = 4) -> dict[str, float]:
    """Params and MACs for one ``size`` x ``size`` crop (MACs = counted FLOPs / 2)."""
    was_training = model.training
    model.eval()
    x = torch.zeros(1, in_channels, size, size)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return {"params": float(params), "macs": counter.get_total_flops() / 2, "size": float(size)}
