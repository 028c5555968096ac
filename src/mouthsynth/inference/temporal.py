"""Temporal filtering of the generated interior over video frames.

The generator fills every frame on its own, so its drawn teeth and shading change a little from
frame to frame even when the mouth is still: flicker that the real interior does not have. This
filter blends each face's fill with the previous frame's (filtered) fill of the same face, in the
lip-aligned crop: the crop follows the (smoothed) lips, so the two fills line up where the mouth
is, whatever the head does in the image.

How much of the previous fill is kept depends on motion:

- **lip motion**: the inner-lip contour's displacement between the two crops (in pixels of the
  128-px reference crop). A still mouth keeps up to ``strength`` of the previous fill; the weight
  falls linearly to 0 at ``motion`` px, so an opening or closing mouth follows the generator;
- **cuts and fast motion**: the known pixels around the mouth (lips and skin, never the interior)
  are compared between the two crops; a mean change above ``cut`` (in [0, 1] units) resets the
  filter, as does a crop of another side;
- **per pixel**: only pixels that were interior in the previous frame borrow from it, and a pixel
  whose new fill differs a lot from the old one (teeth appearing) borrows less (a Gaussian of the
  difference with width ``sigma``), so new content does not leave a ghost.

Nothing here reads the pixels being filled: the filter sees the generated crops and the known
pixels around the mouth only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mouthsynth.geometry import MouthCrop
from mouthsynth.geometry.crops import REFERENCE_SIZE

SIGMA = 0.3  # [0, 1] units: a fill change of this size keeps exp(-1) of the weight
CONTEXT_SIDE = 32  # the known pixels are compared at this resolution


@dataclass
class TemporalState:
    """One face's filter state: the last filtered fill and what it was cut from."""

    fill: np.ndarray | None = None  # S x S x 3 float32 [0, 1]
    mask: np.ndarray | None = None  # S x S float32 [0, 1], the interior it filled
    inner: np.ndarray | None = None  # inner lip, reference-crop px
    context: tuple[np.ndarray, np.ndarray] | None = None  # known pixels, small, and where known
    weight: float = 0.0  # the last frame's weight (for reports)
    resets: int = 0

    def reset(self) -> None:
        self.fill = self.mask = self.inner = self.context = None
        self.resets += 1


def _context(crop: MouthCrop) -> tuple[np.ndarray, np.ndarray]:
    """The crop's known pixels (interior excluded) at CONTEXT_SIDE, and where they are known."""
    known = (crop.mask < 0.01).astype(np.float32)
    small = cv2.resize(crop.image, (CONTEXT_SIDE, CONTEXT_SIDE), interpolation=cv2.INTER_AREA)
    small_known = cv2.resize(known, (CONTEXT_SIDE, CONTEXT_SIDE), interpolation=cv2.INTER_AREA) > 0.99
    return small.astype(np.float32) / 255.0, small_known


class TemporalFilter:
    """``filter(state, crop, generated) -> generated`` (uint8, same shape); see the module doc.
    ``strength`` 0 turns it off."""

    def __init__(self, strength: float = 0.85, motion: float = 8.0, cut: float = 0.08, sigma: float = SIGMA):
        if not 0 <= strength < 1 or motion <= 0 or cut <= 0 or sigma <= 0:
            raise ValueError(
                "temporal filter needs 0 <= strength < 1, motion > 0, cut > 0, sigma > 0; "
                f"got {strength}, {motion}, {cut}, {sigma}"
            )
        self.strength, self.motion, self.cut, self.sigma = strength, motion, cut, sigma

    def weight(self, state: TemporalState, crop: MouthCrop) -> float:
        """How much of the previous fill this frame keeps (0: reset)."""
        if state.fill is None or state.fill.shape[0] != crop.size:
            return 0.0
        ref = REFERENCE_SIZE / crop.size
        inner = crop.inner_lip.astype(np.float32) * ref
        if state.inner is None or state.inner.shape != inner.shape:
            return 0.0
        moved = float(np.linalg.norm(inner - state.inner, axis=1).mean())
        context, known = _context(crop)
        both = known & state.context[1]
        if both.sum() < 16:
            return 0.0
        change = float(np.abs(context - state.context[0])[both].mean())
        if change > self.cut:
            return 0.0
        return self.strength * max(0.0, 1.0 - moved / self.motion)

    def __call__(self, state: TemporalState, crop: MouthCrop, generated: np.ndarray) -> np.ndarray:
        if self.strength <= 0:
            return generated
        fill = generated.astype(np.float32) / 255.0
        w = self.weight(state, crop)
        if w <= 0:
            if state.fill is not None:
                state.reset()
            out = fill
        else:
            diff = np.abs(fill - state.fill).mean(axis=2, keepdims=True)
            per_pixel = w * state.mask[..., None] * np.exp(-((diff / self.sigma) ** 2))
            out = fill + per_pixel * (state.fill - fill)
        state.weight = w
        state.fill = out
        state.mask = crop.mask.astype(np.float32)
        state.inner = crop.inner_lip.astype(np.float32) * (REFERENCE_SIZE / crop.size)
        state.context = _context(crop)
        if w <= 0:
            return generated
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
