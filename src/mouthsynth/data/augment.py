"""Training augmentation of one prepared sample (numpy/OpenCV): flip with mirrored landmarks,
one affine warp for scale/rotation/translation jitter, colour jitter, random mask dilation.
The generator must not learn the exact mask shape or a fixed mouth position."""

from __future__ import annotations

import cv2
import numpy as np

from mouthsynth.config import DataConfig


def mirror_contour(contour: np.ndarray, width: int) -> np.ndarray:
    """Horizontal flip of a lip contour: x mirrored, and the order mirrored so index 0 is still
    a corner and the upper lip still comes first (index i -> (n//2 - i) mod n)."""
    n = len(contour)
    flipped = contour.copy()
    flipped[:, 0] = (width - 1) - flipped[:, 0]
    order = [(n // 2 - i) % n for i in range(n)]
    return flipped[order]


def downscale(image: np.ndarray, size: int) -> np.ndarray:
    """Area-average the 2x prepared crop down to the training size (no aliasing)."""
    if image.shape[0] == size:
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


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
    """``image`` (2S x 2S x 3 uint8), ``mask`` (2S x 2S float32 in [0, 1]) and ``outer_lip``
    (crop px at 2S) -> the same at S, augmented."""
    big = image.shape[0]
    if cfg.flip and rng.random() < 0.5:
        image = image[:, ::-1]
        mask = mask[:, ::-1]
        outer_lip = mirror_contour(outer_lip, big)
    image = downscale(np.ascontiguousarray(image), size)
    mask = downscale(np.ascontiguousarray(mask), size)
    outer_lip = (outer_lip + 0.5) * (size / big) - 0.5
    matrix = jitter_matrix(rng, size, cfg)
    image = cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    mask = cv2.warpAffine(mask, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    outer_lip = outer_lip @ matrix[:, :2].T + matrix[:, 2]
    image = color_jitter(image, rng, cfg.color_jitter)
    hard = (mask >= 0.5).astype(np.float32)
    hard = dilate(hard, int(rng.integers(0, cfg.mask_dilate_max + 1)))
    return image, hard, outer_lip.astype(np.float32)
