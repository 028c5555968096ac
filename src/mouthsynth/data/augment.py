"""Training views of one prepared sample (numpy/OpenCV): flip with mirrored landmarks, scale,
rotation and translation jitter, colour jitter.

Training sees what inference sees: the prepared crop (stored at 2x) is resampled once, by the
resampler inference cuts its crops with (``geometry.crops.warp_to_crop``: area-averaged below
0.75x, bilinear above), and the interior mask is the same anti-aliased polygon resampled the same
way and binarised at one half, as inference does. There is no random mask dilation by default
(``data.mask_dilate_max``): inference never dilates beyond ``geometry.mask_dilation``.
"""

from __future__ import annotations

import cv2
import numpy as np

from mouthsynth.config import DataConfig
from mouthsynth.geometry.crops import warp_to_crop
from mouthsynth.geometry.mouth import binarize


def mirror_contour(contour: np.ndarray, width: int) -> np.ndarray:
    """Horizontal flip of a lip contour: x mirrored, and the order mirrored so index 0 is still
    a corner and the upper lip still comes first (index i -> (n//2 - i) mod n)."""
    n = len(contour)
    flipped = contour.copy()
    flipped[:, 0] = (width - 1) - flipped[:, 0]
    order = [(n // 2 - i) % n for i in range(n)]
    return flipped[order]


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer`` after ``inner``, both 2x3 affine matrices."""
    a = np.vstack([outer, [0, 0, 1]])
    b = np.vstack([inner, [0, 0, 1]])
    return (a @ b)[:2]


def resize_matrix(big: int, size: int) -> np.ndarray:
    """Pixel-centre-aligned scaling of a ``big`` crop to ``size``."""
    s = size / big
    return np.array([[s, 0, 0.5 * s - 0.5], [0, s, 0.5 * s - 0.5]], np.float64)


def downscale(image: np.ndarray, size: int) -> np.ndarray:
    """The prepared 2x crop at ``size`` through the inference resampler."""
    if image.shape[0] == size:
        return image
    return warp_to_crop(image, resize_matrix(image.shape[0], size), size)


def jitter_matrix(rng: np.random.Generator, size: int, cfg: DataConfig) -> np.ndarray:
    scale = 1.0 + rng.uniform(-cfg.scale_jitter, cfg.scale_jitter)
    angle = rng.uniform(-cfg.rotate_deg, cfg.rotate_deg)
    shift = rng.uniform(-cfg.translate, cfg.translate, size=2) * size
    centre = ((size - 1) / 2, (size - 1) / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += shift
    return matrix


def color_jitter(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    if amount <= 0:
        return image
    x = image.astype(np.float32)
    brightness = 1.0 + rng.uniform(-amount, amount)
    contrast = 1.0 + rng.uniform(-amount, amount)
    saturation = 1.0 + rng.uniform(-amount, amount)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * saturation
    x = (x - x.mean()) * contrast + x.mean()
    x = x * brightness
    return np.clip(x, 0, 255).astype(np.uint8)


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask, kernel)


def augment(
    image: np.ndarray,
    mask: np.ndarray,
    outer_lip: np.ndarray,
    size: int,
    rng: np.random.Generator,
    cfg: DataConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``image`` (B x B x 3 uint8, the prepared crop), ``mask`` (B x B float32 in [0, 1]) and
    ``outer_lip`` (crop px at B) -> the same at ``size``, augmented, resampled once."""
    big = image.shape[0]
    matrix = resize_matrix(big, size)
    if cfg.flip and rng.random() < 0.5:
        flip = np.array([[-1.0, 0.0, big - 1.0], [0.0, 1.0, 0.0]])
        matrix = _compose(matrix, flip)
        outer_lip = mirror_contour(outer_lip, big)
        outer_lip[:, 0] = (big - 1) - outer_lip[:, 0]  # mirror_contour flipped x; undo: M flips
    matrix = _compose(jitter_matrix(rng, size, cfg), matrix)
    image = warp_to_crop(np.ascontiguousarray(image), matrix, size)
    mask = warp_to_crop(np.ascontiguousarray(mask, dtype=np.float32), matrix, size)
    outer_lip = outer_lip.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]
    image = color_jitter(image, rng, cfg.color_jitter)
    hard = binarize(mask)
    if cfg.mask_dilate_max > 0:
        hard = dilate(hard, int(rng.integers(0, cfg.mask_dilate_max + 1)))
    return image, hard, outer_lip.astype(np.float32)
