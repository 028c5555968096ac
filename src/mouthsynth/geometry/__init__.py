"""Mask it: mouth openness, the interior mask, its boundary band, the crops and paste-back."""

from mouthsynth.geometry.crops import (
    MouthCrop,
    alpha_in_image,
    crop_alpha,
    cut_mouth,
    global_box_corners,
    paste_back,
)
from mouthsynth.geometry.mouth import binarize, boundary_band, boundary_weight_map, mouth_open, polygon_mask

__all__ = [
    "MouthCrop",
    "alpha_in_image",
    "binarize",
    "boundary_band",
    "boundary_weight_map",
    "crop_alpha",
    "cut_mouth",
    "global_box_corners",
    "mouth_open",
    "paste_back",
    "polygon_mask",
]
