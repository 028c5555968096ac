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
- **lip-following warp** (``warp``): before blending, the previous fill is moved with the lips:
  each pixel follows the lip points near it (inverse-distance weighted displacement of both lip
  contours between the two crops), so upper teeth ride with the upper lip and the lower part of
  the mouth with the lower lip, and an opening or closing mouth can keep more of its old fill;
- **detail** (``detail``, px of the 128-px reference crop): when set, only the coarse part of
  the fill (a Gaussian blur of this width) is averaged over time and the finer detail is the
  current frame's own, so the average does not soften the teeth;
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

from mouthsynth.config import InferenceConfig
from mouthsynth.geometry import MouthCrop
from mouthsynth.geometry.crops import REFERENCE_SIZE

_DEFAULTS = InferenceConfig()  # the filter's defaults are the config's (inference.video_temporal*)
CONTEXT_SIDE = 32  # the known pixels are compared at this resolution
FLOW_GRID = 16  # the lip-following displacement is interpolated on this grid, then resized


@dataclass
class TemporalState:
    """One face's filter state: the last filtered fill and what it was cut from."""

    fill: np.ndarray | None = None  # S x S x 3 float32 [0, 1]
    mask: np.ndarray | None = None  # S x S float32 [0, 1], the interior it filled
    lips: np.ndarray | None = None  # inner, then outer lip, crop px
    context: tuple[np.ndarray, np.ndarray] | None = None  # known pixels, small, and where known
    weight: float = 0.0  # the last frame's weight (for reports)
    resets: int = 0

    def reset(self) -> None:
        self.fill = self.mask = self.lips = self.context = None
        self.resets += 1


def _context(crop: MouthCrop) -> tuple[np.ndarray, np.ndarray]:
    """The crop's known pixels (interior excluded) at CONTEXT_SIDE, and where they are known."""
    known = (crop.mask < 0.01).astype(np.float32)
    small = cv2.resize(crop.image, (CONTEXT_SIDE, CONTEXT_SIDE), interpolation=cv2.INTER_AREA)
    small_known = cv2.resize(known, (CONTEXT_SIDE, CONTEXT_SIDE), interpolation=cv2.INTER_AREA) > 0.99
    return small.astype(np.float32) / 255.0, small_known


def _lips(crop: MouthCrop) -> np.ndarray:
    return np.concatenate([crop.inner_lip, crop.outer_lip]).astype(np.float32)


def lip_flow(current: np.ndarray, previous: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps (x, y) that take a previous crop to the current one: every current
    pixel looks up where it was, following the lip points near it (the points' displacement,
    inverse-distance weighted, on a FLOW_GRID grid resized to the crop)."""
    shift = (previous - current).astype(np.float64)
    centres = (np.arange(FLOW_GRID) + 0.5) * size / FLOW_GRID
    gx, gy = np.meshgrid(centres, centres)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    dist2 = ((grid[:, None, :] - current[None, :, :]) ** 2).sum(axis=2) + (size / 32.0) ** 2
    weights = 1.0 / dist2
    flow = (weights @ shift) / weights.sum(axis=1, keepdims=True)
    flow = cv2.resize(flow.reshape(FLOW_GRID, FLOW_GRID, 2).astype(np.float32), (size, size))
    xs, ys = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


class TemporalFilter:
    """``filter(state, crop, generated) -> generated`` (uint8, same shape); see the module doc.
    ``strength`` 0 turns it off."""

    def __init__(
        self,
        strength: float = _DEFAULTS.video_temporal,
        motion: float = _DEFAULTS.video_temporal_motion,
        cut: float = _DEFAULTS.video_temporal_cut,
        sigma: float = _DEFAULTS.video_temporal_sigma,
        warp: bool = _DEFAULTS.video_temporal_warp,
        detail: float = _DEFAULTS.video_temporal_detail,
    ):
        if not 0 <= strength < 1 or motion <= 0 or cut <= 0 or sigma <= 0:
            raise ValueError(
                "temporal filter needs 0 <= strength < 1, motion > 0, cut > 0, sigma > 0; "
                f"got {strength}, {motion}, {cut}, {sigma}"
            )
        self.strength, self.motion, self.cut, self.sigma, self.warp = strength, motion, cut, sigma, warp
        self.detail = detail

    def weight(self, state: TemporalState, crop: MouthCrop) -> float:
        """How much of the previous fill this frame keeps (0: reset)."""
        if state.fill is None or state.fill.shape[0] != crop.size:
            return 0.0
        if state.lips is None or len(state.lips) != len(crop.inner_lip) + len(crop.outer_lip):
            return 0.0
        # Inner-lip motion in px of the reference crop (the crops are the same size).
        inner = crop.inner_lip.astype(np.float32)
        moved = float(np.linalg.norm(inner - state.lips[: len(inner)], axis=1).mean())
        moved *= REFERENCE_SIZE / crop.size
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
        lips = _lips(crop)
        w = self.weight(state, crop)
        if w <= 0:
            if state.fill is not None:
                state.reset()
            out = fill
        else:
            old_fill, old_mask = state.fill, state.mask
            if self.warp:  # a positive weight means the last frame's lips match these
                map_x, map_y = lip_flow(lips, state.lips, crop.size)
                old_fill = cv2.remap(
                    old_fill, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
                old_mask = cv2.remap(old_mask, map_x, map_y, cv2.INTER_LINEAR)  # outside: 0, no blend
            diff = np.abs(fill - old_fill).mean(axis=2, keepdims=True)
            per_pixel = w * old_mask[..., None] * np.exp(-((diff / self.sigma) ** 2))
            out = fill + per_pixel * (old_fill - fill)
            if self.detail > 0:
                # Only the coarse part is averaged over time; the fine detail is this frame's own.
                blur = self.detail * crop.size / REFERENCE_SIZE
                out = cv2.GaussianBlur(out, (0, 0), blur) + fill - cv2.GaussianBlur(fill, (0, 0), blur)
        state.weight = w
        state.fill = out
        state.mask = crop.mask.astype(np.float32)
        state.lips = lips
        state.context = _context(crop)
        if w <= 0:
            return generated
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
