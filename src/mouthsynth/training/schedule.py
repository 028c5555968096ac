"""Learning-rate scale over a run: constant, then a half-cosine anneal over its last share."""

from __future__ import annotations

import math


def anneal_scale(progress: float, fraction: float, floor: float) -> float:
    """The factor on the set learning rates at ``progress`` (0 = the run's start, 1 = its end):
    1 until ``1 - fraction``, then down along a half cosine to ``floor`` at the end."""
    if fraction <= 0.0:
        return 1.0
    into = (min(max(progress, 0.0), 1.0) - (1.0 - fraction)) / fraction
    if into <= 0.0:
        return 1.0
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * into))
