"""A jaw that opens as a jaw does: the lower face rotates about the axis through the two jaw
joints (condyles, just in front of the ears), seen from the front.

In the canonical face frame (eyes level, inter-ocular distance 1, y down) a point of the jaw at
height ``v`` below the joint axis and ``d`` in front of it moves, when the jaw opens by an angle
``theta``, by ``dy = d sin(theta) + v (cos(theta) - 1)`` (x does not change: the axis runs
across the face). ``d`` is not in 2-D landmarks: it comes from a generic lower-face profile,
largest at the chin (``JAW_DEPTH``) and falling off towards the angles of the jaw, which sit
almost under the joints and barely move. So the chin swings down and a little back while the
jaw line near the ears stays, instead of the whole lower face stretching with the lips. A
weight takes the motion from 0 on the upper lip and above (nose, cheeks) to 1 on the lower lip
and below; the skin in between follows part of the way.

The driver's jaw angle is fitted to its chin and jaw line points; the lips keep whatever the
driver does beyond the jaw's rotation (their residual motion).
"""

from __future__ import annotations

import numpy as np

from mouthsynth.landmarks.mediapipe_backend import INNER_LIP, OUTER_LIP

# Chin's distance in front of the joint axis, and at the angles of the jaw (inter-ocular units).
JAW_DEPTH = 1.2
GONION_DEPTH = 0.12
# The joint axis sits this far below the face-oval points beside the ears (234, 454).
PIVOT_BELOW_EAR = 0.08
# Chin and jaw-line points the driver's angle is fitted to.
CHIN_FIT = [152, 148, 377, 176, 400, 149, 378, 175, 199, 200]
# Every mesh point of the lower face that may move (irises excluded).
MESH_POINTS = 468
EAR = (234, 454)
GONION = (172, 397)
# Angles tried when fitting (radians): a little closing past neutral to a very wide opening.
_ANGLES = np.linspace(-0.15, 0.8, 381)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


class JawModel:
    """One face's jaw (canonical points ``canon``, (P, 2)): depth, lever and weight per point."""

    def __init__(self, canon: np.ndarray):
        self.canon = canon
        x, y = canon[:, 0], canon[:, 1]
        pivot_y = float(canon[list(EAR), 1].mean()) + PIVOT_BELOW_EAR
        chin_x = float(canon[152, 0])
        # 0 at the chin's vertical, 1 at each angle of the jaw.
        left = abs(float(canon[GONION[0], 0]) - chin_x) or 1.0
        right = abs(float(canon[GONION[1], 0]) - chin_x) or 1.0
        lateral = np.where(x < chin_x, (chin_x - x) / left, (x - chin_x) / right)
        self.depth = GONION_DEPTH + (JAW_DEPTH - GONION_DEPTH) * np.clip(1 - lateral**2, 0.0, 1.0)
        self.lever = y - pivot_y
        # Weight: 0 at the upper inner lip's height and above, 1 from the lower lip's bottom down.
        top = float(canon[13, 1])
        bottom = max(float(canon[17, 1]), top + 1e-3)
        weight = _smoothstep((y - top) / (bottom - top))
        n_in, n_out = len(INNER_LIP), len(OUTER_LIP)
        for contour, n in ((INNER_LIP, n_in), (OUTER_LIP, n_out)):
            weight[contour[1 : n // 2]] = 0.0  # upper lip: its own motion only
            weight[contour[n // 2 + 1 :]] = 1.0  # lower lip: carried by the jaw
            weight[[contour[0], contour[n // 2]]] = 0.5  # corners: half way
        weight[MESH_POINTS:] = 0.0
        self.weight = weight

    def displacement(self, sin_theta: float, points: np.ndarray | slice = slice(None)) -> np.ndarray:
        """(N, 2) canonical displacement of ``points`` for a jaw opened by asin(sin_theta)."""
        s = float(np.clip(sin_theta, -0.99, 0.99))
        c = np.sqrt(1 - s * s)
        dy = self.weight[points] * (self.depth[points] * s + self.lever[points] * (c - 1))
        return np.stack([np.zeros_like(dy), dy], 1)

    def fit(self, moved: np.ndarray) -> float:
        """sin of the jaw angle that best explains ``moved`` (this face's points, canonical, after
        motion) at the chin and jaw line, least squares."""
        observed = moved[CHIN_FIT, 1] - self.canon[CHIN_FIT, 1]
        s = np.sin(_ANGLES)[:, None]
        c = np.cos(_ANGLES)[:, None]
        w, d, v = self.weight[CHIN_FIT], self.depth[CHIN_FIT], self.lever[CHIN_FIT]
        predicted = w * (d * s + v * (c - 1))
        best = int(np.argmin(((predicted - observed) ** 2).sum(1)))
        return float(np.sin(_ANGLES[best]))

    def lower_face(self) -> np.ndarray:
        """Indices of the mesh points the jaw moves (weight above zero)."""
        return np.flatnonzero(self.weight[:MESH_POINTS] > 1e-4)
