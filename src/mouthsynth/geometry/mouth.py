"""Per-face mouth measures and masks: how open the mouth is, what to fill, where its edge is."""

from __future__ import annotations

import cv2
import numpy as np

# Polygons are rasterised at this supersampling factor, then area-averaged: an anti-aliased edge.
_SUPERSAMPLE = 4


def mouth_axes(contour: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit vector from corner to corner, unit normal pointing from upper to lower lip (image
    y grows downwards), and the corner-to-corner width."""
    n = len(contour)
    a, b = contour[0].astype(np.float64), contour[n // 2].astype(np.float64)
    if a[0] > b[0]:
        a, b = b, a
    width = float(np.linalg.norm(b - a))
    along = (b - a) / width if width > 0 else np.array([1.0, 0.0])
    normal = np.array([-along[1], along[0]])
    if normal[1] < 0:
        normal = -normal
    return along, normal, width


def mouth_open(inner_lip: np.ndarray) -> float:
    """Inner-lip opening height / inner-lip width; 0 for a closed mouth.

    The height is the widest gap between facing upper and lower inner-lip points, measured
    across the mouth axis so head roll does not change it.
    """
    n = len(inner_lip)
    _, normal, width = mouth_axes(inner_lip)
    if width <= 1e-6:
        return 0.0
    gaps = [float(np.dot(inner_lip[n - i] - inner_lip[i], normal)) for i in range(1, n // 2)]
    return max(0.0, max(gaps, default=0.0)) / width


def polygon_mask(polygon: np.ndarray, size: tuple[int, int], dilation: float = 0.0) -> np.ndarray:
    """Float32 mask in [0, 1] of the polygon's inside, anti-aliased, grown by ``dilation`` px."""
    h, w = size
    s = _SUPERSAMPLE
    big = np.zeros((h * s, w * s), np.uint8)
    pts = np.round((polygon.astype(np.float64) + 0.5) * s - 0.5).astype(np.int32)
    cv2.fillPoly(big, [pts], 255, lineType=cv2.LINE_8)
    if dilation > 0:
        r = max(1, int(round(dilation * s)))
        big = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    small = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def binarize(mask: np.ndarray) -> np.ndarray:
    """The network's mask: a pixel is filled when at least half of it is inside."""
    return (mask >= 0.5).astype(np.float32)


def boundary_band(mask: np.ndarray, band: float) -> np.ndarray:
    """1 on the mask boundary, falling linearly to 0 at ``band`` px on either side."""
    hard = (mask >= 0.5).astype(np.uint8)
    if band <= 0 or not hard.any() or hard.all():
        return np.zeros(mask.shape, np.float32)
    inside = cv2.distanceTransform(hard, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - hard, cv2.DIST_L2, 3)
    # Distance to the boundary, measured between pixel centres on both sides of it.
    dist = np.where(hard > 0, inside - 0.5, outside - 0.5)
    return np.clip(1.0 - dist / band, 0.0, 1.0).astype(np.float32)


def boundary_weight_map(boundary: np.ndarray, weight: float) -> np.ndarray:
    """Per-pixel L1 weight: 1 away from the edge, ``weight`` on it."""
    return 1.0 + (weight - 1.0) * boundary


def feather(mask: np.ndarray, sigma: float, outward: bool = False) -> np.ndarray:
    """Soft paste-back alpha: the binary mask blurred, so the edge has no visible step. With
    ``outward`` the alpha stays 1 over the whole mask and only its outer half remains: the soft
    edge lies over the known pixels around the mask, none of the old interior shows through."""
    hard = binarize(mask)
    if sigma <= 0:
        return hard
    k = int(2 * round(3 * sigma) + 1)
    soft = cv2.GaussianBlur(hard, (k, k), sigma)
    return np.maximum(soft, hard) if outward else soft
