"""Putting generated crops back into images (numpy/OpenCV): a soft-edged blend with a seam
correction, or Poisson blending. Only pixels under the feathered interior mask ever change."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mouthsynth.config import InferenceConfig
from mouthsynth.geometry import MouthCrop, crop_alpha, paste_back
from mouthsynth.geometry.crops import REFERENCE_SIZE, FillDetail


@dataclass(frozen=True)
class BorderMatch:
    """The alpha blend's seam correction (``inference.color_match_max`` / ``_depth``): at most
    ``max_levels`` of colour change, reaching ``depth`` px (of the 128-px crop) inward. Bounded,
    so it removes a seam and cannot repaint the mouth."""

    max_levels: float = InferenceConfig.color_match_max
    depth: float = InferenceConfig.color_match_depth


def _ring(hard: np.ndarray, outward: bool) -> np.ndarray:
    kernel = np.ones((3, 3), np.uint8)
    if outward:
        return cv2.dilate(hard, kernel) - hard
    return hard - cv2.erode(hard, kernel)


def match_border(generated: np.ndarray, crop: MouthCrop, border: BorderMatch = BorderMatch()) -> np.ndarray:
    """Remove a colour step at the mask edge: the difference between the known pixels just
    outside and the generated pixels just inside is spread a few pixels inward, fading out, and
    clamped so it can only fix a seam, never recolour the interior."""
    hard = (crop.mask >= 0.5).astype(np.uint8)
    if hard.sum() < 4:
        return generated
    outer, inner = _ring(hard, True).astype(np.float32), _ring(hard, False).astype(np.float32)
    real = crop.image.astype(np.float32)
    gen = generated.astype(np.float32)
    reach = border.depth * crop.size / REFERENCE_SIZE
    sigma = 0.5 * reach  # the step is measured as far inward as it is applied

    def local_mean(values: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        num = cv2.GaussianBlur(values * weight[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
        return num / np.maximum(den, 1e-12), den

    (real_mean, real_support), (gen_mean, gen_support) = local_mean(real, outer), local_mean(gen, inner)
    # Far from both rings the local means are ratios of vanishing sums: no step is known there,
    # and the correction fades out instead of amplifying rounding.
    support = np.clip(np.minimum(real_support, gen_support) / 1e-3, 0.0, 1.0)
    step = (real_mean - gen_mean) * support
    inside = cv2.distanceTransform(hard, cv2.DIST_L2, 3)
    fade = np.exp(-inside / reach)[..., None] * hard[..., None]
    corrected = gen + np.clip(step, -border.max_levels, border.max_levels) * fade
    return np.clip(np.rint(corrected), 0, 255).astype(np.uint8)


def poisson(generated: np.ndarray, crop: MouthCrop) -> np.ndarray:
    """cv2.seamlessClone of the generated interior into the known pixels around it.

    The destination holds the generated pixels inside the mask, never the crop's own interior:
    OpenCV mixes the destination's gradients into a band inside the region, so whatever the input
    had there (a closed rendered mouth; in evaluation, the ground truth) would leak into the fill.
    The region is grown by OpenCV's internal erosion (3 px) plus one, so the guidance over the
    whole interior comes from the generated pixels."""
    hard = (crop.mask >= 0.5).astype(np.uint8)
    if hard.sum() < 4:
        return generated
    region = cv2.dilate(hard, np.ones((3, 3), np.uint8), iterations=4) * 255
    region[[0, -1], :] = 0
    region[:, [0, -1]] = 0  # seamlessClone needs the region away from the border
    x, y, w, h = cv2.boundingRect(region)
    centre = (x + w // 2, y + h // 2)
    known = np.where(hard[..., None] > 0, generated, crop.image)
    src = cv2.cvtColor(generated, cv2.COLOR_RGB2BGR)
    dst = cv2.cvtColor(known, cv2.COLOR_RGB2BGR)
    try:
        out = cv2.seamlessClone(src, dst, region, centre, cv2.NORMAL_CLONE)
    except cv2.error:
        return generated
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def composite_crop(
    generated: np.ndarray,
    crop: MouthCrop,
    blend: str = "alpha",
    border: BorderMatch | None = BorderMatch(),
) -> np.ndarray:
    """The generated crop made ready to paste: Poisson-blended, or (alpha) seam-corrected by
    ``border`` (None: pasted as generated)."""
    if blend == "poisson":
        return poisson(generated, crop)
    return generated if border is None else match_border(generated, crop, border)


def composite(
    image: np.ndarray,
    crop: MouthCrop,
    generated: np.ndarray,
    blend: str = "alpha",
    alpha: np.ndarray | None = None,
    detail: FillDetail = FillDetail(),
    border: BorderMatch | None = BorderMatch(),
) -> np.ndarray:
    """Paste one face's generated crop into ``image``: only pixels under ``alpha`` (the feathered
    interior mask in crop px, default ``crop_alpha(crop)``) change. ``detail``: how the fill is
    enlarged into the image (``FillDetail``; the default is the plain bilinear enlargement).
    ``border``: the alpha blend's seam correction, None for none."""
    if blend not in ("alpha", "poisson"):
        raise ValueError(f"blend must be 'alpha' or 'poisson', got {blend!r}")
    ready = composite_crop(generated, crop, blend, border)
    return paste_back(
        image,
        crop,
        ready,
        crop_alpha(crop) if alpha is None else alpha,
        keep_detail=False,
        detail=detail,
    )


def border_match(inf: InferenceConfig) -> BorderMatch | None:
    """The seam correction from ``inference.color_match*`` (None when it is off)."""
    return BorderMatch(inf.color_match_max, inf.color_match_depth) if inf.color_match else None


def fill_detail(inf: InferenceConfig) -> FillDetail:
    """The photos' paste-back of the fill, from ``inference.fill_*``."""
    return FillDetail(
        upsampling=inf.fill_upsampling,
        strength=inf.fill_detail,
        sigma=inf.fill_detail_sigma,
        start=inf.fill_detail_from,
        full=inf.fill_detail_full,
    )
