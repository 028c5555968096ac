"""Temporal term: two crops of the same mouth, cut as consecutive video frames would cut them
(moved by landmark jitter alone), must be filled alike. Measured as the video evaluation's
flicker: the change of the composited result between the views that the truth does not have."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def jitter_consistency(
    fake: torch.Tensor,
    real: torch.Tensor,
    mask: torch.Tensor,
    fake2: torch.Tensor,
    real2: torch.Tensor,
    mask2: torch.Tensor,
    theta: torch.Tensor,
) -> torch.Tensor:
    """Mean |(fake - W fake2) - (real - W real2)| over the union of both interiors, where ``W``
    samples view 2 on view 1's pixels (``theta``: N x 2 x 3, ``F.affine_grid``). ``fake`` and
    ``fake2`` are composited results, so outside both interiors the term is exactly 0; pixels that
    view 2 does not cover are left out."""
    grid = F.affine_grid(theta.to(fake.dtype), list(fake.shape), align_corners=False)

    def warp(x: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    covered = warp(torch.ones_like(mask)) > 0.999
    region = ((mask > 0.5) | (warp(mask2) > 0.5)) & covered
    change = (fake - warp(fake2)) - (real - warp(real2))
    pixels = region.sum() * fake.shape[1]
    return (change.abs() * region).sum() / pixels.clamp(min=1)
