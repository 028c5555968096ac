"""From an image to every face's mouth crop: landmarks, then geometry."""

from __future__ import annotations

import numpy as np

from mouthsynth.config import GeometryConfig
from mouthsynth.geometry.crops import MouthCrop, cut_mouth
from mouthsynth.landmarks.base import FaceLandmarks, LandmarkBackend


def find_mouths(
    image: np.ndarray,
    backend: LandmarkBackend,
    size: int = 128,
    cfg: GeometryConfig | None = None,
    face_boxes: list[tuple[float, float, float, float]] | None = None,
) -> list[tuple[FaceLandmarks, MouthCrop]]:
    """Every face, largest first, with its global crop."""
    cfg = cfg or GeometryConfig()
    faces = backend.detect(image, face_boxes)
    return [(face, cut_mouth(image, face, size, cfg)) for face in faces]
