"""A smooth, local warp of the lower face: lips and jaw move to new points, the rest stays.

A thin-plate spline maps each output pixel back to where it comes from in the input, fitted to
the moved points and to fixed anchors (eyes, nose, cheekbones, and the border of the region of
interest). Only the region below the eyes is resampled, so the eyes, the forehead and the
background are bit-identical.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import RBFInterpolator

from mouthsynth.transfer.motion import ANCHORS, MOVING

# The spline is evaluated on a coarse grid and upsampled: smooth fields need no more.
GRID_STEP = 4
# Moves smaller than this (px) leave the image untouched: "no motion" changes nothing.
MIN_MOTION_PX = 0.25


def warp_region(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The lower-face box that may change: from the nose down to below the chin, cheek to cheek."""
    h, w = shape
    face = points[MOVING + ANCHORS]
    x0, _ = face.min(0)
    x1, _ = face.max(0)
    top = float(points[[4, 98, 327, 2]][:, 1].mean())  # nose tip / nostrils
    chin = float(points[152, 1])
    pad_x = 0.15 * (x1 - x0)
    pad_y = 0.35 * (chin - top)
    return (
        int(max(0, np.floor(x0 - pad_x))),
        int(max(0, np.floor(top))),
        int(min(w, np.ceil(x1 + pad_x))),
        int(min(h, np.ceil(chin + pad_y))),
    )


def _border_points(box: tuple[int, int, int, int], n: int = 12) -> np.ndarray:
    x0, y0, x1, y1 = box
    xs = np.linspace(x0, x1 - 1, n)
    ys = np.linspace(y0, y1 - 1, n)
    return np.concatenate(
        [
            np.stack([xs, np.full(n, y0)], 1),
            np.stack([xs, np.full(n, y1 - 1)], 1),
            np.stack([np.full(n, x0), ys], 1),
            np.stack([np.full(n, x1 - 1), ys], 1),
        ]
    )


def warp_lower_face(
    image: np.ndarray, source: np.ndarray, target: np.ndarray, moving: np.ndarray | list[int] | None = None
) -> np.ndarray:
    """Warp ``image`` so the face's ``moving`` points (default MOVING; MotionTransfer.moving)
    go from ``source`` to ``target`` (478 x 2 each); the ANCHORS not among them stay."""
    moving = MOVING if moving is None else list(moving)
    motion = np.linalg.norm(target[moving] - source[moving], axis=1)
    if motion.max(initial=0.0) < MIN_MOTION_PX:
        return image.copy()
    box = warp_region(source, image.shape[:2])
    # The region must hold the moved points too (an opening jaw goes lower).
    x0, y0, x1, y1 = box
    # ... with room below a lowered chin for the neck, which it covers.
    pad = 4 + int(0.2 * max(0.0, float(source[152, 1] - source[4, 1])))
    lo = np.floor(target[moving].min(0)).astype(int) - 4
    hi = np.ceil(target[moving].max(0)).astype(int) + [4, pad]
    h, w = image.shape[:2]
    x0, y0 = max(0, min(x0, lo[0])), max(0, min(y0, lo[1]))
    x1, y1 = min(w, max(x1, hi[0])), min(h, max(y1, hi[1]))
    box = (x0, y0, x1, y1)
    anchors = source[[a for a in ANCHORS if a not in set(moving)]]
    inside = (anchors[:, 0] >= x0) & (anchors[:, 0] < x1) & (anchors[:, 1] >= y0) & (anchors[:, 1] < y1)
    border = _border_points(box)
    dst = np.concatenate([target[moving], anchors[inside], border])
    src = np.concatenate([source[moving], anchors[inside], border])
    # Backward map: for each output pixel, where to sample the input.
    spline = RBFInterpolator(dst, src - dst, kernel="thin_plate_spline", smoothing=1e-3)
    gx = np.arange(x0, x1 + GRID_STEP, GRID_STEP, dtype=np.float64)
    gy = np.arange(y0, y1 + GRID_STEP, GRID_STEP, dtype=np.float64)
    grid = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    coarse = spline(grid).reshape(len(gy), len(gx), 2).astype(np.float32)
    # Upsample the coarse field to every pixel of the region.
    full_w, full_h = (len(gx) - 1) * GRID_STEP + 1, (len(gy) - 1) * GRID_STEP + 1
    field = cv2.resize(coarse, (full_w, full_h), interpolation=cv2.INTER_LINEAR)[: y1 - y0, : x1 - x0]
    # Fade the field to zero at the region border so the seam is invisible.
    ramp = _edge_ramp(y1 - y0, x1 - x0, margin=max(3, (x1 - x0) // 20))
    field *= ramp[..., None]
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    map_x = xx + field[..., 0]
    map_y = yy + field[..., 1]
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def _edge_ramp(h: int, w: int, margin: int) -> np.ndarray:
    ry = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    rx = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float32)
    ramp = np.minimum.outer(ry, rx) / margin
    return np.clip(ramp, 0.0, 1.0)
