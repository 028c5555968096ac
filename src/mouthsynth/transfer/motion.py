"""Mouth motion: the driver's lip and jaw movement, freed of its head pose and face size, applied
to another face.

Both faces are brought into a canonical frame by a similarity transform fitted to points that do
not move when the mouth does (eye corners, nose bridge): eyes level, inter-ocular distance 1. The
driver's motion is its displacement from its neutral frame in that frame, rescaled by the ratio
of the two faces' mouth widths (a wide mouth opens wider), and added to the target's points.
Needs the 478-point MediaPipe mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mouthsynth.errors import MouthSynthError
from mouthsynth.landmarks.base import FaceLandmarks
from mouthsynth.landmarks.mediapipe_backend import INNER_LIP, OUTER_LIP

# Eye corners and nose bridge: they stay put while the mouth and jaw move.
STABLE = [33, 133, 362, 263, 168, 6, 197]
# Points that follow the mouth: both lip contours, the skin around them, the chin and lower jaw.
AROUND_MOUTH = [57, 287, 43, 273, 106, 335, 182, 406, 83, 313, 18, 200, 199, 175, 164, 92, 322, 167, 393]
JAW = [172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397]
MOVING = list(dict.fromkeys(INNER_LIP + OUTER_LIP + AROUND_MOUTH + JAW))
# Points that must not move: eyes, nose, cheekbones, upper face oval.
ANCHORS = [
    33,
    133,
    362,
    263,
    168,
    6,
    197,
    195,
    5,
    4,
    1,
    2,
    98,
    327,
    234,
    454,
    93,
    323,
    116,
    345,
    50,
    280,
    205,
    425,
]


def canonical_transform(points: np.ndarray) -> np.ndarray:
    """2x3 similarity mapping image px to the canonical face frame."""
    left = points[[33, 133]].mean(0)
    right = points[[362, 263]].mean(0)
    centre = (left + right) / 2
    axis = right - left
    dist = float(np.linalg.norm(axis))
    if dist < 1e-6:
        raise MouthSynthError("degenerate face landmarks (eyes coincide)")
    c, s = axis / dist
    rot = np.array([[c, s], [-s, c]]) / dist
    return np.hstack([rot, (-rot @ centre)[:, None]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def mouth_width(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[61] - points[291]))


@dataclass
class MotionTransfer:
    """Driver neutral + target neutral -> target points for every driver frame."""

    driver_neutral: np.ndarray  # (478, 2) image px of the driver's neutral frame
    target: np.ndarray  # (478, 2) image px of the target face
    strength: float = 1.0

    def __post_init__(self) -> None:
        if len(self.driver_neutral) < 468 or len(self.target) < 468:
            raise MouthSynthError(
                "mouth motion transfer needs the MediaPipe mesh (landmarks.backend=mediapipe)"
            )
        self._driver_neutral_canon = apply(canonical_transform(self.driver_neutral), self.driver_neutral)
        self._target_to_canon = canonical_transform(self.target)
        self._target_canon = apply(self._target_to_canon, self.target)
        self._canon_to_target = cv2.invertAffineTransform(self._target_to_canon)
        driver_w = mouth_width(self._driver_neutral_canon)
        target_w = mouth_width(self._target_canon)
        self._scale = target_w / driver_w if driver_w > 1e-6 else 1.0

    def displacement(self, driver_points: np.ndarray) -> np.ndarray:
        """Driver motion in canonical units, scaled to the target's mouth, for MOVING points."""
        canon = apply(canonical_transform(driver_points), driver_points)
        return (canon[MOVING] - self._driver_neutral_canon[MOVING]) * self._scale * self.strength

    def target_points(self, driver_points: np.ndarray) -> np.ndarray:
        """All target points (478, 2) with the driver's mouth motion applied, in target image px."""
        moved = self._target_canon.copy()
        moved[MOVING] += self.displacement(driver_points)
        out = self.target.astype(np.float64).copy()
        out[MOVING] = apply(self._canon_to_target, moved[MOVING])
        # The two lip contours must not cross: a lower lip above the upper one means "closed".
        _uncross_lips(out)
        return out.astype(np.float32)


def _uncross_lips(points: np.ndarray) -> None:
    for contour in (INNER_LIP, OUTER_LIP):
        n = len(contour)
        a, b = points[contour[0]], points[contour[n // 2]]
        axis = (b - a) / max(np.linalg.norm(b - a), 1e-6)
        normal = np.array([-axis[1], axis[0]])
        if normal[1] < 0:
            normal = -normal
        for i in range(1, n // 2):
            up, low = contour[i], contour[n - i]
            gap = float(np.dot(points[low] - points[up], normal))
            if gap < 0:  # lower lip above upper lip: meet in the middle
                mid = (points[up] + points[low]) / 2
                points[up] = points[low] = mid


def landmarks_from_points(points: np.ndarray, backend: str = "mediapipe") -> FaceLandmarks:
    pts = points.astype(np.float32)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    return FaceLandmarks(
        pts[INNER_LIP], pts[OUTER_LIP], (float(x0), float(y0), float(x1), float(y1)), pts, backend
    )
