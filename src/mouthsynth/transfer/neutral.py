"""The driver's mouth motion over a whole clip, measured against a neutral mouth that does not
depend on where the clip starts.

Every driver frame is brought into a canonical face frame (eyes level, inter-ocular distance 1;
motion.canonical_transform) and then aligned to the neutral by an affine fit on points that do
not move with the mouth (forehead, eye corners, nose), which also takes out most of the
foreshortening of a nodding or turning head. The neutral is, unless given, estimated from the
whole clip: the per-landmark median of its most closed frames of a usual mouth width (pursed
lips are closed too, but narrow). A clip that never closes its mouth gets that median with the
lips brought together. The aligned points are smoothed over
time (a small Gaussian, no lag: the clip is known in advance) and short losses of the face are
bridged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mouthsynth.errors import MouthSynthError
from mouthsynth.geometry import mouth_open
from mouthsynth.landmarks.mediapipe_backend import INNER_LIP
from mouthsynth.transfer.motion import apply, canonical_transform

# Points that do not move when the mouth or the jaw does: forehead, eye corners, nose.
RIGID = [10, 109, 338, 67, 297, 33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 2, 98, 327]
# The share of a clip's frames, most closed first, whose median is its neutral mouth.
NEUTRAL_SHARE = 0.1
NEUTRAL_MIN_FRAMES = 3
# How much a frame's mouth width away from the clip's median counts against it (per unit of
# relative width, in units of opening).
WIDTH_WEIGHT = 2.0
# A neutral estimated from frames more open than this gets its lips closed.
NEUTRAL_MAX_OPEN = 0.06
# Temporal smoothing of the driver's aligned points (frames), and the longest loss bridged.
SMOOTH_SIGMA = 0.75
MAX_GAP = 6


def canonical(points: np.ndarray) -> np.ndarray:
    return apply(canonical_transform(points), points.astype(np.float64))


def align(canon: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``canon`` (canonical points of one frame) mapped by the affine fit of its RIGID points
    onto ``reference``'s."""
    src = np.hstack([canon[RIGID], np.ones((len(RIGID), 1))])
    coef, *_ = np.linalg.lstsq(src, reference[RIGID], rcond=None)
    return np.hstack([canon, np.ones((len(canon), 1))]) @ coef


@dataclass
class DriverMotion:
    """The driver's neutral mouth and every frame's points, canonical and aligned to it."""

    neutral: np.ndarray  # (P, 2) canonical
    frames: list[np.ndarray | None]  # per driver frame: (P, 2) aligned canonical, None = no face
    source: str  # which neutral was used, in words


def close_lips(canon: np.ndarray) -> np.ndarray:
    """The same face with its mouth closed: everything below the upper inner lip (lower lip,
    chin, jaw) raised by the lips' widest gap, and the inner lips made to meet."""
    out = canon.copy()
    n = len(INNER_LIP)
    pairs = [(INNER_LIP[i], INNER_LIP[n - i]) for i in range(1, n // 2)]
    gap = max(0.0, max(float(canon[low, 1] - canon[up, 1]) for up, low in pairs))
    if gap <= 0:
        return out
    upper_y = float(canon[[up for up, _ in pairs], 1].max())
    out[canon[:, 1] > upper_y + 1e-6, 1] -= gap
    for up, low in pairs:
        out[low] = out[up]
    return out


def estimate_neutral(canon_frames: list[np.ndarray | None]) -> tuple[np.ndarray, str]:
    """Per-landmark median of the most closed frames (canonical points)."""
    found = [(i, c) for i, c in enumerate(canon_frames) if c is not None]
    if not found:
        raise MouthSynthError("no face in any driver frame")
    openings = np.array([mouth_open(c[INNER_LIP]) for _, c in found])
    # Most closed, but of a usual width: pursed lips ("oo") are closed too, and narrow.
    widths = np.array([np.linalg.norm(c[61] - c[291]) for _, c in found])
    usual = np.abs(widths / max(float(np.median(widths)), 1e-6) - 1)
    k = min(len(found), max(NEUTRAL_MIN_FRAMES, int(round(NEUTRAL_SHARE * len(found)))))
    order = np.argsort(openings + WIDTH_WEIGHT * usual, kind="stable")[:k]
    chosen = np.stack([found[j][1] for j in order])
    # Align the chosen frames to their first one before taking the median (head motion).
    ref = chosen[0]
    neutral = np.median(np.stack([align(c, ref) for c in chosen]), axis=0)
    worst = float(openings[order].max())
    text = f"estimated from the {k} most closed of {len(found)} driver frames (opening <= {worst:.2f})"
    if mouth_open(neutral[INNER_LIP]) > NEUTRAL_MAX_OPEN:
        neutral = close_lips(neutral)
        text += ", lips closed (the driver never closes its mouth)"
    return neutral, text


def build_driver_motion(
    points: list[np.ndarray | None],
    neutral_points: np.ndarray | None = None,
    neutral_source: str | None = None,
    smooth_sigma: float = SMOOTH_SIGMA,
) -> DriverMotion:
    """``points``: the driver's landmarks (image px) per frame, None where no face was found;
    ``neutral_points``: a given neutral (image px), else it is estimated from ``points``."""
    canon = [None if p is None else canonical(p) for p in points]
    if neutral_points is not None:
        neutral = canonical(neutral_points)
        source = neutral_source or "given"
    else:
        neutral, source = estimate_neutral(canon)
    aligned = [None if c is None else align(c, neutral) for c in canon]
    aligned = _bridge_gaps(aligned, MAX_GAP)
    if smooth_sigma > 0:
        aligned = _smooth(aligned, smooth_sigma)
    return DriverMotion(neutral, aligned, source)


def _bridge_gaps(frames: list[np.ndarray | None], max_gap: int) -> list[np.ndarray | None]:
    """Linear interpolation across losses of at most ``max_gap`` frames between two faces."""
    out = list(frames)
    known = [i for i, f in enumerate(frames) if f is not None]
    for a, b in zip(known, known[1:], strict=False):
        if 1 < b - a <= max_gap + 1:
            for i in range(a + 1, b):
                t = (i - a) / (b - a)
                out[i] = (1 - t) * frames[a] + t * frames[b]
    return out


def _smooth(frames: list[np.ndarray | None], sigma: float) -> list[np.ndarray | None]:
    """Gaussian smoothing over time within each run of consecutive faces (edges renormalised)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    out = list(frames)
    i = 0
    while i < len(frames):
        if frames[i] is None:
            i += 1
            continue
        j = i
        while j < len(frames) and frames[j] is not None:
            j += 1
        run = np.stack(frames[i:j])
        for t in range(j - i):
            lo, hi = max(0, t - radius), min(j - i, t + radius + 1)
            w = kernel[lo - t + radius : hi - t + radius]
            out[i + t] = np.tensordot(w / w.sum(), run[lo:hi], axes=1)
        i = j
    return out
