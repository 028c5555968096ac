"""The landmark interface every backend implements: faces in, lip contours out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FaceLandmarks:
    """One face's lips in image pixels.

    Both contours are closed and start at a mouth corner (index 0), run along the upper lip to
    the other corner (index ``n // 2``) and back along the lower lip, so upper point ``i`` faces
    lower point ``n - i`` whatever the backend.
    """

    inner_lip: np.ndarray  # (K, 2) float32
    outer_lip: np.ndarray  # (M, 2) float32
    face_box: tuple[float, float, float, float]  # x0, y0, x1, y1
    points: np.ndarray  # every point the backend gives, (P, 2) float32
    backend: str

    def transformed(self, matrix: np.ndarray) -> FaceLandmarks:
        """The same face under a 2x3 affine map (e.g. into a crop, or a flip)."""

        def apply(p: np.ndarray) -> np.ndarray:
            return (p @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)

        corners = apply(np.array([self.face_box[:2], self.face_box[2:]], np.float32))
        x0, y0 = corners.min(0)
        x1, y1 = corners.max(0)
        return FaceLandmarks(
            apply(self.inner_lip),
            apply(self.outer_lip),
            (float(x0), float(y0), float(x1), float(y1)),
            apply(self.points),
            self.backend,
        )


class LandmarkBackend(Protocol):
    """Finds every face in an RGB uint8 image. Add a backend by implementing this."""

    name: str

    def detect(
        self, image: np.ndarray, face_boxes: list[tuple[float, float, float, float]] | None = None
    ) -> list[FaceLandmarks]:
        """All faces, largest first. ``face_boxes`` (e.g. from the previous video frame) skips
        the face detector."""
        ...


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def points_box(points: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = points.min(0)
    x1, y1 = points.max(0)
    return float(x0), float(y0), float(x1), float(y1)
