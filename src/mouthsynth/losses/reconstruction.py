"""Boundary-weighted L1: the generated interior against the real pixels, with more weight on the
band around the mouth-region boundary, where a seam would show."""

from __future__ import annotations

import torch


def boundary_weighted_l1(
    fake: torch.Tensor, real: torch.Tensor, mask: torch.Tensor, boundary: torch.Tensor, boundary_weight: float
) -> torch.Tensor:
    """Mean L1 over the interior and the boundary band, each pixel weighted
    ``1 + (boundary_weight - 1) * boundary``. Dividing by the summed weight keeps the loss scale
    independent of the mask size (a small mouth counts as much as a wide-open one)."""
    region = torch.clamp(mask + boundary, max=1.0)
    weight = region * (1 + (boundary_weight - 1) * boundary)
    total = weight.sum() * fake.shape[1]
    return (weight * (fake - real).abs()).sum() / total.clamp(min=1.0)
