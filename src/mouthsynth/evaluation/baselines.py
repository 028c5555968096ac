"""Classical mouth fillers the model is measured against (numpy/OpenCV only).

Every filler has one signature: ``fill(white_filled, mask) -> crop``, with the S x S x 3 uint8
white-filled crop and the S x S float interior mask. It returns the full crop with only the
mask's pixels (binarised as the white fill was, ``geometry.binarize``) changed; compositing
into the real crop is the caller's job, the same for every method.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from mouthsynth.errors import ConfigError
from mouthsynth.geometry.mouth import binarize

Filler = Callable[[np.ndarray, np.ndarray], np.ndarray]

INPAINT_RADIUS = 3  # px around each hole pixel that OpenCV's inpainting looks at (128-px crops)


def _hole(mask: np.ndarray) -> np.ndarray:
    return binarize(mask).astype(np.uint8)


def telea(white_filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV's fast-marching inpainting (Telea 2004)."""
    return cv2.inpaint(white_filled, _hole(mask), INPAINT_RADIUS, cv2.INPAINT_TELEA)


def navier_stokes(white_filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV's Navier-Stokes inpainting (Bertalmio et al. 2001)."""
    return cv2.inpaint(white_filled, _hole(mask), INPAINT_RADIUS, cv2.INPAINT_NS)


def blur(white_filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A smooth fill: normalised convolution of the known pixels into the hole.

    Each hole pixel gets the Gaussian-weighted mean of the known pixels, sigma = the hole's
    largest distance to its rim, so even the centre sees the rim: the lips' colours smeared
    inwards, what a filler that knows nothing of teeth converges to."""
    hole = _hole(mask)
    if not hole.any():
        return white_filled.copy()
    known = (1 - hole).astype(np.float32)
    if not known.any():
        return white_filled.copy()  # nothing to spread: leave the white as it is
    depth = float(cv2.distanceTransform(hole, cv2.DIST_L2, 3).max())
    sigma = max(1.0, depth)
    weighted = cv2.GaussianBlur(white_filled.astype(np.float32) * known[..., None], (0, 0), sigma)
    weight = cv2.GaussianBlur(known, (0, 0), sigma)[..., None]
    filled = np.clip(np.round(weighted / np.maximum(weight, 1e-12)), 0, 255).astype(np.uint8)
    return np.where(hole[..., None] > 0, filled, white_filled)


BASELINES: dict[str, Filler] = {"telea": telea, "ns": navier_stokes, "blur": blur}


def get_baseline(name: str) -> Filler:
    try:
        return BASELINES[name]
    except KeyError:
        raise ConfigError(f"unknown baseline {name!r}: choose from {', '.join(sorted(BASELINES))}") from None
