"""The target's lips keep their own width and thickness when they take the driver's shape.

A driver's "O" draws its lip corners in and its lips roll out: copied point for point, a target
mouth 70 px wide was narrowed to 36 px and its lips doubled in thickness (benchmarks/
transfer_follow.py, dreamtalk_W011 surprised -> liveportrait_s42). The thickness was the fault,
not the narrowing: real "O"s narrow that far. Three rules on the asked points:

- the inner mouth may narrow to at most ``MIN_WIDTH`` of the target's own (as far as real
  mouths do); the pursing beyond that becomes height (the lower lip drops further), so the
  opening (inner height over width, what the driver is followed in) is the one asked;
- each lip's points keep their order from corner to corner, and a corner stays between the
  ends of its two lips, so the inner ring does not fold on itself;
- the outer lip ring is the new inner ring offset outward by the target's own lip thickness
  (outer minus inner point, index for index), so the lips keep their thickness and the band
  between the rings cannot turn inside out (the mesh warp, warp.py, keeps it unfolded).
"""

from __future__ import annotations

import numpy as np

from mouthsynth.geometry.mouth import mouth_axes
from mouthsynth.landmarks.mediapipe_backend import INNER_LIP, OUTER_LIP

# The inner mouth's width may shrink to this share of the target's own (an "O" becomes taller).
# Real drivers' "O"s narrow to 0.43-0.59 of their median width (dreamtalk W011, spectre W023
# surprised). At 0.75 an "O" asked at 1.7 dropped the lower lip by 1.3 mouth widths: the
# detector lost the mouth at those frames (benchmarks/transfer_follow.py pair 0: r 0.755) and
# a steeper drop folded the warp; 0.45 gives r 0.90, the other pairs unchanged.
MIN_WIDTH = 0.45
# Neighbouring lip points stay at least this share of their own spacing apart along the mouth.
ORDER_GAP = 0.2


def shape_lips(source: np.ndarray, moved: np.ndarray, min_width: float = MIN_WIDTH) -> np.ndarray:
    """``moved`` (478 x 2, the asked target points, image px) with the lip rules applied;
    ``source``: the target's own points in the frame being warped (its width, thickness and
    the spacing of its lip points). Asked to stay as ``source`` is, the lips stay."""
    out = moved.astype(np.float64).copy()
    src = source.astype(np.float64)
    n = len(INNER_LIP)
    inner = out[INNER_LIP]
    along, normal, width = mouth_axes(inner)
    s_along, s_normal, own_width = mouth_axes(src[INNER_LIP])
    if width > 1e-6 and own_width > 1e-6:
        centre = (inner[0] + inner[n // 2]) / 2
        a, b = (inner - centre) @ along, (inner - centre) @ normal
        rel = src[INNER_LIP] - (src[INNER_LIP[0]] + src[INNER_LIP[n // 2]]) / 2
        a_own, b_own = rel @ s_along, rel @ s_normal
        if width < min_width * own_width:
            # Widen about the mouth's centre; the upper lip keeps its height, each lower
            # point's gap below its upper partner grows by the same factor (the opening,
            # height over width, stays as asked).
            k = min_width * own_width / width
            a = a * k
            for i in range(1, n // 2):
                b[n - i] = b[i] + k * (b[n - i] - b[i])
        # Corner to corner, each lip's points keep their order along the mouth: a point past
        # its neighbour (or past a corner) folds the ring.
        a = _ordered(a, a_own, n)
        # Each corner stays between its two lips' ends (as far outside as it is in the target's
        # own mouth): the jaw takes a corner half way down, and with the lips closed above it,
        # it hung below them and the ring folded.
        for c, up, low in ((0, 1, n - 1), (n // 2, n // 2 - 1, n // 2 + 1)):
            lo_own, hi_own = sorted((b_own[up], b_own[low]))
            slack = max(0.0, lo_own - b_own[c], b_own[c] - hi_own)
            b[c] = np.clip(b[c], min(b[up], b[low]) - slack, max(b[up], b[low]) + slack)
        inner = centre + a[:, None] * along + b[:, None] * normal
        out[INNER_LIP] = inner
    out[OUTER_LIP] = inner + (src[OUTER_LIP] - src[INNER_LIP])
    return out.astype(moved.dtype)


def _ordered(a: np.ndarray, a_own: np.ndarray, n: int) -> np.ndarray:
    """Positions along the mouth (corner 0 to corner n/2; the upper lip's points 1..n/2-1 and
    the lower lip's n-1..n/2+1 between them) kept in order along each lip, each at least
    ORDER_GAP of its own spacing (in the target's own mouth, ``a_own``) past its neighbour."""
    sign = 1.0 if a[n // 2] >= a[0] else -1.0
    t = sign * (a - a[0])  # distance from the first corner towards the other
    own = np.sign(a_own[n // 2] - a_own[0]) * (a_own - a_own[0])
    span, scale = t[n // 2], t[n // 2] / max(own[n // 2], 1e-6)
    for lip in (list(range(1, n // 2)), list(range(n - 1, n // 2, -1))):
        prev, prev_own = 0.0, 0.0
        for i in lip:
            t[i] = max(t[i], prev + ORDER_GAP * scale * max(own[i] - prev_own, 0.0))
            prev, prev_own = t[i], own[i]
        last = span - ORDER_GAP * scale * max(own[n // 2] - own[lip[-1]], 0.0)
        if t[lip[-1]] > last and t[lip[-1]] > 1e-9:  # overran the far corner: drawn back evenly
            t[lip] *= last / t[lip[-1]]
    return a[0] + sign * t
