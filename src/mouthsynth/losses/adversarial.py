"""Adversarial losses: LSGAN (pix2pixHD's default) or hinge, for both sides of the game."""

from __future__ import annotations

import torch
import torch.nn.functional as F

MODES = ("lsgan", "hinge")


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, mode: str = "lsgan") -> torch.Tensor:
    """Discriminator: real patches -> 1, fake patches -> 0 (LSGAN), or the hinge margins."""
    if mode == "lsgan":
        return 0.5 * (
            F.mse_loss(real_logits, torch.ones_like(real_logits))
            + F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
        )
    if mode == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    raise ValueError(f"unknown GAN mode {mode!r} (one of {MODES})")


def g_loss(fake_logits: torch.Tensor, mode: str = "lsgan") -> torch.Tensor:
    """Generator: make the discriminator call fake patches real."""
    if mode == "lsgan":
        return F.mse_loss(fake_logits, torch.ones_like(fake_logits))
    if mode == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"unknown GAN mode {mode!r} (one of {MODES})")
