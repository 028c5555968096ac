"""Per-sample quality measures of a filled mouth crop against the ground truth (numpy/OpenCV only).

Inputs are RGB ``uint8`` crops (S x S x 3) and the float interior mask (S x S, 1 = filled).
"Inside the mask" means the pixels the network fills: the mask binarised exactly as the
white-filled crop is (``geometry.binarize``, >= 0.5). Pixel differences are in [0, 1] units.
A measure that is undefined for a sample (empty mask, box too small) is ``nan``; ``summarize``
leaves such values out and counts them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from scipy import stats
from skimage.metrics import structural_similarity

from mouthsynth.geometry.mouth import binarize

PSNR_CAP_DB = 100.0  # identical pixels would give +inf: a finite cap keeps means and JSON usable
_VARIANCE_EPS = 1e-6  # guards the sharpness ratio when the truth has no texture at all


def _region(mask: np.ndarray) -> np.ndarray:
    return binarize(mask) > 0


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) / 255.0


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0


def masked_l1(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference inside the mask, over pixels and channels, in [0, 1]."""
    region = _region(mask)
    if not region.any():
        return math.nan
    return float(np.abs(_unit(result) - _unit(truth))[region].mean())


def masked_psnr(result: np.ndarray, truth: np.ndarray, mask: np.ndarray, cap: float = PSNR_CAP_DB) -> float:
    """PSNR (dB, peak 1) of the pixels inside the mask, capped at ``cap`` for identical pixels."""
    region = _region(mask)
    if not region.any():
        return math.nan
    mse = float(((_unit(result) - _unit(truth))[region] ** 2).mean())
    if mse <= 10 ** (-cap / 10):
        return cap
    return float(-10.0 * math.log10(mse))


def local_ssim(result: np.ndarray, truth: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """SSIM (scikit-image, 7-px window, or the largest odd one that fits) on the local mouth box."""
    x0, y0, x1, y1 = (int(v) for v in box)
    a, b = result[y0:y1, x0:x1], truth[y0:y1, x0:x1]
    side = min(a.shape[:2])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return math.nan
    return float(structural_similarity(a, b, win_size=win, channel_axis=2, data_range=255))


def _laplacian_variance(grey: np.ndarray, region: np.ndarray) -> float:
    return float(cv2.Laplacian(grey, cv2.CV_64F, ksize=1)[region].var())


def sharpness_ratio(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Laplacian variance of the result inside the mask / that of the truth.

    1 is right; a smeared fill scores near 0, an over-sharpened one above 1. The mask is eroded
    by one pixel so the 3x3 Laplacian never reaches the known pixels across the seam."""
    region = _region(mask)
    if not region.any():
        return math.nan
    inner = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if inner.any():
        region = inner
    var_result = _laplacian_variance(_grey(result), region)
    var_truth = _laplacian_variance(_grey(truth), region)
    return (var_result + _VARIANCE_EPS) / (var_truth + _VARIANCE_EPS)


def seam_band(mask: np.ndarray, band: int = 2) -> np.ndarray:
    """Boolean band straddling the mask boundary: ``band`` px outside it and ``band`` px inside."""
    region = _region(mask).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    return (cv2.dilate(region, kernel) > 0) & ~(cv2.erode(region, kernel) > 0)


def _gradient_magnitude(grey: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(grey, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_64F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


def seam_error(result: np.ndarray, truth: np.ndarray, mask: np.ndarray, band: int = 2) -> float:
    """Mean |Sobel gradient magnitude of the result - that of the truth| on the boundary band.

    A visible seam is an edge the truth does not have (or a real edge lost), so it shows up
    as a gradient difference right where fill meets known pixels."""
    ring = seam_band(mask, band)
    if not ring.any():
        return math.nan
    diff = np.abs(_gradient_magnitude(_grey(result)) - _gradient_magnitude(_grey(truth)))
    return float(diff[ring].mean())


def flicker(
    results: Sequence[np.ndarray], truths: Sequence[np.ndarray], masks: Sequence[np.ndarray]
) -> float:
    """Mean over consecutive frames of |(r_t - r_t-1) - (g_t - g_t-1)| inside the union of both
    masks: temporal change of the result that the truth does not have. 0 for result == truth."""
    if not len(results) == len(truths) == len(masks):
        raise ValueError(f"flicker: {len(results)} results, {len(truths)} truths, {len(masks)} masks")
    values = []
    for t in range(1, len(results)):
        union = _region(masks[t]) | _region(masks[t - 1])
        if not union.any():
            continue
        change = (_unit(results[t]) - _unit(results[t - 1])) - (_unit(truths[t]) - _unit(truths[t - 1]))
        values.append(float(np.abs(change)[union].mean()))
    return float(np.mean(values)) if values else math.nan


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Mean and 95% confidence interval of the mean (Student-t, normal-theory interval).

    Non-finite values (undefined measures) are left out and counted in ``dropped``. With one
    value the interval is that value; with none every figure is nan."""
    data = np.asarray(list(values), dtype=np.float64)
    finite = data[np.isfinite(data)]
    n = int(finite.size)
    summary: dict[str, float | int] = {"n": n, "dropped": int(data.size - n)}
    if n == 0:
        return {"mean": math.nan, "ci95_low": math.nan, "ci95_high": math.nan, **summary}
    mean = float(finite.mean())
    half = 0.0
    if n > 1:
        half = float(stats.t.ppf(0.975, n - 1) * finite.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci95_low": mean - half, "ci95_high": mean + half, **summary}
