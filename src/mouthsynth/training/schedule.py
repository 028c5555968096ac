"""Learning-rate scale over a run: a linear ramp after a restart with fresh optimisers, constant,
then a half-cosine anneal over its last share."""

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


def restart_ramp_scale(steps_since_restart: int, ramp_steps: int) -> float:
    """The factor on the set learning rates ``steps_since_restart`` steps (1 = the first) after a
    continuation began with fresh optimisers: ``k / ramp_steps`` up to 1. Fresh Adam moments make
    every parameter's first steps about the full rate whatever its gradient's scale; the ramp
    lets the moments settle before the weights move that far."""
    if ramp_steps <= 0:
        return 1.0
    return min(max(steps_since_restart, 1) / ramp_steps, 1.0)
