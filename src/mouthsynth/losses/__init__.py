"""Generator and discriminator losses: one small module per term."""

from mouthsynth.losses.adversarial import d_loss, g_loss
from mouthsynth.losses.feature_matching import feature_matching
from mouthsynth.losses.perceptual import PerceptualLoss
from mouthsynth.losses.reconstruction import boundary_weighted_l1
from mouthsynth.losses.temporal import jitter_consistency

__all__ = [
    "PerceptualLoss",
    "boundary_weighted_l1",
    "d_loss",
    "feature_matching",
    "g_loss",
    "jitter_consistency",
]
