"""The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) for landmarks over video frames.

An exponential low-pass filter whose cutoff rises with the signal's speed: strong smoothing when
the lips are still (no jitter of the crop or of the mask edge), little lag when they move fast.
Every element of the array (each coordinate of each point) is filtered on its own.
"""

from __future__ import annotations

import numpy as np


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Smoothing factor of an exponential filter with this cutoff (Hz) at sampling step dt (s)."""
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """``filter(x, t)`` -> smoothed x (float32, same shape) for samples at increasing times ``t``
    (seconds). ``min_cutoff`` (Hz): lower = smoother when still; ``beta``: higher = less lag when
    moving; ``d_cutoff`` (Hz): cutoff of the speed estimate. Call ``reset()`` when the face is
    lost, so a new face does not start from the old one's position; a change of shape resets
    too."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(
                f"One-Euro filter needs min_cutoff > 0, d_cutoff > 0, beta >= 0; "
                f"got {min_cutoff}, {d_cutoff}, {beta}"
            )
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None  # last filtered value
        self._dx: np.ndarray | None = None  # last filtered speed
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._x.shape != x.shape:
            # First sample: nothing to smooth against, and the speed is taken as 0.
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.astype(np.float32)
        dt = float(t) - self._t
        if dt <= 0:
            raise ValueError(f"One-Euro filter: time must increase (got {t} after {self._t})")
        speed = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff, dt) * (speed - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._t = float(t)
        return self._x.astype(np.float32)
