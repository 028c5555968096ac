"""Evaluation metrics on constructed cases and on a real face crop."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mouthsynth.evaluation import metrics as M
from mouthsynth.io.images import read_image

SIZE = 128
BOX = (32, 32, 96, 96)


def ellipse_mask(size: int = SIZE, centre=(64, 64), axes=(24, 9)) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    return mask


@pytest.fixture(scope="module")
def face(photos_dir) -> np.ndarray:
    """A 128-px crop of the lower face, the mouth at its centre."""
    image = read_image(photos_dir / "stargan-v2_005735.jpg")
    return cv2.resize(image[637:893, 377:633], (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def inside(mask: np.ndarray, fill: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None] >= 0.5, fill, truth)


def test_identical_images_score_perfectly(face):
    mask = ellipse_mask()
    assert M.masked_l1(face, face, mask) == 0.0
    assert M.masked_psnr(face, face, mask) == M.PSNR_CAP_DB
    assert M.local_ssim(face, face, BOX) == pytest.approx(1.0)
    assert M.sharpness_ratio(face, face, mask) == 1.0
    assert M.seam_error(face, face, mask) == 0.0


def test_blurred_copy_is_less_sharp_and_has_a_seam(face):
    mask = ellipse_mask()
    blurred = inside(mask, cv2.GaussianBlur(face, (0, 0), 2.0), face)
    assert M.sharpness_ratio(blurred, face, mask) < 0.5
    assert M.seam_error(blurred, face, mask) > 0.01
    assert 0 < M.masked_l1(blurred, face, mask) < 0.1
    assert M.local_ssim(blurred, face, BOX) < 0.99
    # A stronger blur is farther from the truth on every measure.
    smeared = inside(mask, cv2.GaussianBlur(face, (0, 0), 6.0), face)
    assert M.sharpness_ratio(smeared, face, mask) < M.sharpness_ratio(blurred, face, mask)
    assert M.masked_psnr(smeared, face, mask) < M.masked_psnr(blurred, face, mask)


def test_white_fill_is_worst(face):
    mask = ellipse_mask()
    white = inside(mask, np.full_like(face, 255), face)
    blurred = inside(mask, cv2.GaussianBlur(face, (0, 0), 2.0), face)
    assert M.masked_l1(white, face, mask) > 5 * M.masked_l1(blurred, face, mask)
    assert M.seam_error(white, face, mask) > 5 * M.seam_error(blurred, face, mask)
    assert M.sharpness_ratio(white, face, mask) < 1e-3  # a flat fill has no texture at all


def test_l1_and_psnr_known_values():
    truth = np.zeros((16, 16, 3), np.uint8)
    mask = np.zeros((16, 16), np.float32)
    mask[4:12, 4:12] = 1
    result = truth.copy()
    result[mask > 0] = 51  # 0.2 in [0, 1] units
    result[0, 0] = 255  # outside the mask: must not count
    assert M.masked_l1(result, truth, mask) == pytest.approx(0.2)
    assert M.masked_psnr(result, truth, mask) == pytest.approx(-10 * math.log10(0.04))
    result[mask > 0] = 255
    assert M.masked_l1(result, truth, mask) == pytest.approx(1.0)
    assert M.masked_psnr(result, truth, mask) == pytest.approx(0.0)


def test_soft_mask_is_binarised_like_the_white_fill():
    truth = np.zeros((8, 8, 3), np.uint8)
    result = np.full_like(truth, 255)
    mask = np.zeros((8, 8), np.float32)
    mask[2, 2] = 0.4  # known pixel for the network
    assert math.isnan(M.masked_l1(result, truth, mask))
    mask[3, 3] = 0.6
    assert M.masked_l1(result, truth, mask) == pytest.approx(1.0)


def test_empty_mask_or_tiny_box_is_undefined(face):
    empty = np.zeros((SIZE, SIZE), np.float32)
    for metric in (M.masked_l1, M.masked_psnr, M.sharpness_ratio, M.seam_error):
        assert math.isnan(metric(face, face, empty))
    assert math.isnan(M.local_ssim(face, face, (10, 10, 12, 12)))
    assert M.local_ssim(face, face, (10, 10, 15, 15)) == pytest.approx(1.0)  # 5-px window fits


def test_ssim_looks_only_at_the_local_box(face):
    changed = face.copy()
    changed[:20] = 0  # above the box
    assert M.local_ssim(changed, face, BOX) == pytest.approx(1.0)
    noisy = face.copy()
    noise = np.random.default_rng(0).integers(-40, 40, face.shape)
    noisy[40:90, 40:90] = np.clip(face.astype(int) + noise, 0, 255)[40:90, 40:90]
    assert M.local_ssim(noisy, face, BOX) < 0.9


def test_sharpness_ignores_the_known_pixels_across_the_seam():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    mask = ellipse_mask(64, (32, 32), (14, 10))
    flat = inside(mask, np.full_like(truth, 128), truth)
    # The flat interior has no Laplacian response of its own; the noisy rim must not leak in.
    assert M.sharpness_ratio(flat, truth, mask) < 1e-5  # only the zero-variance guard is left
    noisy = inside(mask, rng.integers(0, 256, truth.shape).astype(np.uint8), truth)
    assert M.sharpness_ratio(noisy, truth, mask) == pytest.approx(1.0, rel=0.2)


def test_seam_band_straddles_the_boundary():
    mask = ellipse_mask(64, (32, 32), (14, 10))
    band = M.seam_band(mask, 2)
    hard = mask >= 0.5
    assert (band & hard).any() and (band & ~hard).any()
    assert not band[32, 32] and not band[0, 0]
    assert band.sum() < M.seam_band(mask, 4).sum()


def test_seam_sees_a_step_at_the_edge_but_not_a_matching_fill():
    # A smooth horizontal ramp: filling with the ramp itself leaves no seam, a constant does.
    ramp = np.tile(np.linspace(40, 220, 64).astype(np.uint8)[None, :, None], (64, 1, 3))
    mask = ellipse_mask(64, (32, 32), (14, 10))
    assert M.seam_error(ramp, ramp, mask) == 0.0
    step = inside(mask, np.zeros_like(ramp), ramp)
    assert M.seam_error(step, ramp, mask) > 0.5


def moving_frames(face: np.ndarray, n: int = 5) -> list[np.ndarray]:
    return [np.roll(face, shift=2 * t, axis=1) for t in range(n)]


def test_flicker(face):
    truths = moving_frames(face)
    masks = [ellipse_mask()] * len(truths)
    assert M.flicker(truths, truths, masks) == 0.0
    # A fixed bias (the same error every frame) is not flicker...
    darker = [np.clip(t.astype(int) - 30, 0, 255).astype(np.uint8) for t in truths]
    biased = [inside(m, d, t) for m, d, t in zip(masks, darker, truths, strict=True)]
    assert M.masked_l1(biased[1], truths[1], masks[1]) > 0.05
    assert M.flicker(biased, truths, masks) < 0.01
    # ...but a fill that jitters from frame to frame is.
    rng = np.random.default_rng(2)
    jittered = [
        inside(m, np.clip(t.astype(int) + rng.integers(-25, 25, t.shape), 0, 255).astype(np.uint8), t)
        for m, t in zip(masks, truths, strict=True)
    ]
    assert M.flicker(jittered, truths, masks) > 0.05
    # A frozen fill over a moving mouth misses the truth's motion.
    frozen = [inside(m, truths[0], t) for m, t in zip(masks, truths, strict=True)]
    assert M.flicker(frozen, truths, masks) > 0.01
    assert math.isnan(M.flicker(truths[:1], truths[:1], masks[:1]))
    with pytest.raises(ValueError):
        M.flicker(truths, truths[:2], masks)


def test_flicker_counts_the_union_of_both_masks():
    truths = [np.zeros((16, 16, 3), np.uint8)] * 2
    results = [truths[0], np.zeros_like(truths[0])]
    results[1][2, 2] = 255  # changed pixel inside the first mask only
    first = np.zeros((16, 16), np.float32)
    first[0:4, 0:4] = 1
    second = np.zeros_like(first)
    second[8:12, 8:12] = 1
    assert M.flicker(results, truths, [first, second]) == pytest.approx(1 / 32)


def test_summarize():
    values = [1.0, 2.0, 3.0]
    s = M.summarize(values)
    assert s["mean"] == 2.0 and s["n"] == 3 and s["dropped"] == 0
    assert s["ci95_low"] < 2.0 < s["ci95_high"]
    assert s["ci95_high"] - 2.0 == pytest.approx(4.3027 / math.sqrt(3), rel=1e-3)  # t(0.975, 2) * sd / sqrt n
    with_bad = M.summarize(values + [math.nan, math.inf])
    assert with_bad["mean"] == 2.0 and with_bad["n"] == 3 and with_bad["dropped"] == 2
    one = M.summarize([0.5])
    assert one["ci95_low"] == one["mean"] == one["ci95_high"] == 0.5
    none = M.summarize([math.nan])
    assert none["n"] == 0 and math.isnan(none["mean"])


def test_summarize_interval_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(3)
    hits = 0
    trials = 400
    for _ in range(trials):
        s = M.summarize(rng.normal(5.0, 2.0, 12))
        hits += s["ci95_low"] <= 5.0 <= s["ci95_high"]
        assert s["ci95_low"] <= s["mean"] <= s["ci95_high"]
    assert 0.91 <= hits / trials <= 0.99


images = arrays(np.uint8, (12, 12, 3))
masks = arrays(np.float32, (12, 12), elements=st.floats(0, 1, width=32))


@settings(max_examples=60, deadline=None)
@given(a=images, b=images, mask=masks)
def test_metrics_are_symmetric_and_bounded(a, b, mask):
    l1 = M.masked_l1(a, b, mask)
    if math.isnan(l1):
        assert not (mask >= 0.5).any()
        return
    assert 0.0 <= l1 <= 1.0 and l1 == M.masked_l1(b, a, mask)
    psnr = M.masked_psnr(a, b, mask)
    assert 0.0 <= psnr <= M.PSNR_CAP_DB and psnr == pytest.approx(M.masked_psnr(b, a, mask))
    assert (psnr == M.PSNR_CAP_DB) == (l1 == 0.0)
    seam = M.seam_error(a, b, mask)
    if M.seam_band(mask).any():
        assert seam >= 0.0 and seam == pytest.approx(M.seam_error(b, a, mask))
    else:  # the mask covers the whole crop: no seam to measure
        assert math.isnan(seam) and (mask >= 0.5).all()
    ssim = M.local_ssim(a, b, (0, 0, 12, 12))
    assert -1.0 <= ssim <= 1.0 + 1e-9 and ssim == pytest.approx(M.local_ssim(b, a, (0, 0, 12, 12)))
    ratio = M.sharpness_ratio(a, b, mask)
    assert ratio > 0 and ratio * M.sharpness_ratio(b, a, mask) == pytest.approx(1.0)
    assert M.flicker([a, b], [a, b], [mask, mask]) == 0.0
    assert M.flicker([a, b], [b, a], [mask, mask]) == pytest.approx(M.flicker([b, a], [a, b], [mask, mask]))
