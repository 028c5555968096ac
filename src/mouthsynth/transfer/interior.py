"""A target whose own mouth is open has its interior painted over with its lips before the mouth
is moved: stretched open by the warp, its dark lip line and teeth ringed the new mouth (a dark
rim at the inner lip, benchmarks/transfer_follow.py pair 0), and squeezed shut they showed as a
line of teeth. The new interior is the generator's (MouthSynthesizer.fill_faces)."""

from __future__ import annotations

import cv2
import numpy as np

from mouthsynth.geometry import mouth_open
from mouthsynth.landmarks.mediapipe_backend import INNER_LIP

# A mouth open more than this (inner height over width) has an interior worth painting over.
MIN_OPEN = 0.02
# The painted region reaches this far past the inner lip ring (share of the mouth's width):
# the dark edge of the gap lies just outside the landmarks.
GROW = 0.04


def close_interior(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``image`` with the inside of the face's inner lip ring (``points``: 478 x 2, image px)
    inpainted from the lips around it; unchanged if the mouth is closed."""
    inner = points[INNER_LIP].astype(np.float64)
    if mouth_open(inner) <= MIN_OPEN:
        return image
    n = len(INNER_LIP)
    width = float(np.linalg.norm(inner[0] - inner[n // 2]))
    grow = max(1, int(round(GROW * width)))
    pad = grow + 8
    h, w = image.shape[:2]
    x0, y0 = np.maximum(np.floor(inner.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(inner.max(0)).astype(int) + pad, [w, h])
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(inner - [x0, y0]).astype(np.int32)], 255)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.inpaint(crop, mask, grow + 2, cv2.INPAINT_TELEA)
    return out
