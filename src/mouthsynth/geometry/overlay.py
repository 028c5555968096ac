"""Pictures of the geometry for people: lip contours, the interior mask and both crop boxes."""

from __future__ import annotations

import cv2
import numpy as np

from mouthsynth.geometry.crops import MouthCrop, alpha_in_image, global_box_corners, invert, transform_points
from mouthsynth.landmarks.base import FaceLandmarks

OUTER_COLOUR = (255, 200, 0)
INNER_COLOUR = (0, 255, 255)
MASK_COLOUR = np.array([255, 0, 160], np.float32)
GLOBAL_COLOUR = (0, 255, 0)
LOCAL_COLOUR = (255, 80, 0)


def _poly(img: np.ndarray, pts: np.ndarray, colour: tuple[int, int, int], thickness: int) -> None:
    cv2.polylines(img, [np.round(pts * 16).astype(np.int32)], True, colour, thickness, cv2.LINE_AA, shift=4)


def draw_geometry(image: np.ndarray, faces: list[tuple[FaceLandmarks, MouthCrop]]) -> np.ndarray:
    """The image with, per face: the interior mask tinted, both lip contours, the global crop
    (green) and the local crop (orange), plus every face's white-filled crop in a column."""
    out = image.astype(np.float32)
    thickness = max(1, int(round(max(image.shape[:2]) / 500)))
    for _face, crop in faces:
        alpha = alpha_in_image(crop)[..., None] * 0.6
        out = out * (1 - alpha) + MASK_COLOUR * alpha
    out = np.clip(out, 0, 255).astype(np.uint8)
    for face, crop in faces:
        _poly(out, face.outer_lip, OUTER_COLOUR, thickness)
        _poly(out, face.inner_lip, INNER_COLOUR, thickness)
        _poly(out, global_box_corners(crop), GLOBAL_COLOUR, thickness)
        x0, y0, x1, y1 = crop.local_box
        local = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
        _poly(out, transform_points(local, invert(crop.matrix)), LOCAL_COLOUR, thickness)
    if not faces:
        return out
    h = out.shape[0]
    side = max(64, min(h // max(1, len(faces)), 512))
    column = np.full((h, side, 3), 32, np.uint8)
    for i, (_face, crop) in enumerate(faces):
        if (i + 1) * side > h:
            break
        tile = cv2.resize(crop.white_filled, (side, side), interpolation=cv2.INTER_AREA)
        column[i * side : (i + 1) * side] = tile
    return np.hstack([out, column])
