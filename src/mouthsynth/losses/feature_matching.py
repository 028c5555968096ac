"""pix2pixHD's discriminator feature-matching loss, for one discriminator."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def feature_matching(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of L1(fake features, real features); the real side is detached so only
    the generator is pushed."""
    losses = [F.l1_loss(f, r.detach()) for f, r in zip(fake_feats, real_feats, strict=True)]
    return torch.stack(losses).mean()
