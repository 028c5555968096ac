"""Mouth motion: the driver's lip and jaw movement, freed of its head pose and face size, applied
to another face.

Both faces are brought into a canonical frame by a similarity transform fitted to points that do
not move when the mouth does (eye corners, nose bridge): eyes level, inter-ocular distance 1. The
driver's motion is its displacement from its neutral mouth in that frame (neutral.py), split
into a jaw rotation (jaw.py) and the lips' own motion, rescaled by the ratio of the two faces'
mouth widths (a wide mouth opens wider), and applied to the target's points.
Needs the 478-point MediaPipe mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mouthsynth.errors import MouthSynthError
from mouthsynth.landmarks.base import FaceLandmarks
from mouthsynth.landmarks.mediapipe_backend import INNER_LIP, OUTER_LIP
from mouthsynth.transfer.jaw import MESH_POINTS, JawModel

# Eye corners and nose bridge: they stay put while the mouth and jaw move.
STABLE = [33, 133, 362, 263, 168, 6, 197]
# Points that follow the mouth: both lip contours, the skin around them, the chin and lower jaw.
AROUND_MOUTH = [57, 287, 43, 273, 106, 335, 182, 406, 83, 313, 18, 200, 199, 175, 164, 92, 322, 167, 393]
JAW = [172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397]
MOVING = list(dict.fromkeys(INNER_LIP + OUTER_LIP + AROUND_MOUTH + JAW))
LIPS = list(dict.fromkeys(INNER_LIP + OUTER_LIP))
# Skin near the lips follows their own motion with this falloff (inter-ocular units).
SKIN_FOLLOW = 0.12
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
    """Driver neutral + target face -> target points for every driver frame.

    The driver's motion (its aligned canonical points minus its neutral, neutral.py) splits into
    a jaw rotation (jaw.py), fitted to its chin and jaw line, and the lips' own motion beyond it.
    The target's lower face rotates by the same jaw angle; its lips add the driver's residual
    lip motion, rescaled by the ratio of the mouth widths, and the skin near the lips follows it
    with a falloff. The upper lip moves only by its own motion; the nose and above never move.
    """

    driver_neutral: np.ndarray  # (478, 2) canonical points of the driver's neutral mouth
    target: np.ndarray  # (478, 2) image px of the target face
    strength: float = 1.0

    def __post_init__(self) -> None:
        if len(self.driver_neutral) < 468 or len(self.target) < 468:
            raise MouthSynthError(
                "mouth motion transfer needs the MediaPipe mesh (landmarks.backend=mediapipe)"
            )
        self._target_to_canon = canonical_transform(self.target)
        self._target_canon = apply(self._target_to_canon, self.target.astype(np.float64))
        self._canon_to_target = cv2.invertAffineTransform(self._target_to_canon)
        self._driver_jaw = JawModel(self.driver_neutral)
        self._target_jaw = JawModel(self._target_canon)
        driver_w = mouth_width(self.driver_neutral)
        target_w = mouth_width(self._target_canon)
        self._scale = target_w / driver_w if driver_w > 1e-6 else 1.0
        # Every mesh point from the nose's base down moves (many by nothing: they hold the skin).
        y = self._target_canon[:MESH_POINTS, 1]
        below_nose = np.flatnonzero(y >= self._target_canon[2, 1] + 0.02)
        self.moving = np.array(sorted(set(below_nose.tolist()) | set(LIPS)))
        # Skin near the lips follows their own motion, fading with distance from the lip line.
        skin = np.setdiff1d(self.moving, LIPS)
        lips = self._target_canon[OUTER_LIP]
        dist = np.linalg.norm(self._target_canon[skin][:, None] - lips[None], axis=2)
        self._skin = skin
        self._skin_lip = np.asarray(OUTER_LIP)[dist.argmin(1)]
        self._skin_follow = np.exp(-((dist.min(1) / SKIN_FOLLOW) ** 2))

    def jaw(self, driver_canon: np.ndarray) -> float:
        """sin of the driver's jaw angle relative to its neutral."""
        return self._driver_jaw.fit(driver_canon)

    def displacement(self, driver_canon: np.ndarray) -> np.ndarray:
        """(478, 2) canonical motion of every target point for one driver frame (aligned
        canonical points, neutral.DriverMotion.frames)."""
        k = self._scale * self.strength
        sin_d = self._driver_jaw.fit(driver_canon)
        residual = np.zeros_like(self._target_canon)
        residual[LIPS] = (driver_canon[LIPS] - self.driver_neutral[LIPS]) - self._driver_jaw.displacement(
            sin_d, LIPS
        )
        residual *= k
        disp = np.zeros_like(self._target_canon)
        disp[self.moving] = self._target_jaw.displacement(sin_d * k, self.moving)
        disp[LIPS] += residual[LIPS]
        disp[self._skin] += self._skin_follow[:, None] * residual[self._skin_lip]
        return disp

    def target_points(self, driver_canon: np.ndarray) -> np.ndarray:
        """All target points (478, 2) with the driver's mouth motion applied, in target image px."""
        moved = self._target_canon + self.displacement(driver_canon)
        out = self.target.astype(np.float64).copy()
        out[self.moving] = apply(self._canon_to_target, moved[self.moving])
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
