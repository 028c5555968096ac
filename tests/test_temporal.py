"""The temporal filter of the video fill: it lowers flicker on a real clip against the same run
with the filter off (same tracker, same crops) without changing L1 beyond a small margin, and it
resets on cuts, on fast lip motion and when turned off."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsynth.geometry import MouthCrop
from mouthsynth.inference.temporal import TemporalFilter, TemporalState

# A validation speaker (never trained on), 52 frames at 25 fps, mouth open almost throughout.
CLIP = "dreamtalk_W011_front_surprised_level3_001.mp4"


def _crop(image: np.ndarray, inner: np.ndarray, size: int = 64) -> MouthCrop:
    mask = np.zeros((size, size), np.float32)
    mask[24:40, 16:48] = 1.0
    white = np.where(mask[..., None] > 0, np.uint8(255), image)
    return MouthCrop(
        np.eye(2, 3),
        size,
        image,
        mask,
        white,
        np.zeros_like(mask),
        (8, 8, 56, 56),
        inner,
        inner,
        0.4,
        (size, size),
    )


def _inner(shift: float = 0.0) -> np.ndarray:
    return np.array([[16, 32], [32, 24 + shift], [48, 32], [32, 40 - shift]], np.float32)


def test_still_mouth_keeps_part_of_the_previous_fill_and_cuts_reset():
    rng = np.random.default_rng(0)
    image = np.full((64, 64, 3), 120, np.uint8)
    filt = TemporalFilter(strength=0.5, motion=4.0, cut=0.08, sigma=100.0, warp=False, detail=0.0)
    state = TemporalState()
    a = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(filt(state, _crop(image, _inner()), a), a)  # nothing to blend with yet
    out = filt(state, _crop(image, _inner()), b)
    inside = (slice(24, 40), slice(16, 48))
    expected = 0.5 * a[inside].astype(float) + 0.5 * b[inside]
    assert np.abs(out[inside] - expected).max() <= 1
    assert state.weight == pytest.approx(0.5)
    # The lips move by the whole motion scale (in 128-px reference units): no blending.
    moved = filt(state, _crop(image, _inner(2.0 * 64 / 128 * 4)), a)
    assert np.array_equal(moved, a) and state.weight == 0.0
    # A cut: the known pixels around the mouth change.
    filt(state, _crop(image, _inner()), b)
    cut = filt(state, _crop(np.full((64, 64, 3), 30, np.uint8), _inner()), a)
    assert np.array_equal(cut, a) and state.weight == 0.0
    # Off: the generated crop passes through untouched.
    off, fresh = TemporalFilter(strength=0.0), TemporalState()
    off(fresh, _crop(image, _inner()), a)
    assert np.array_equal(off(fresh, _crop(image, _inner()), b), b)


def test_filter_lowers_flicker_on_a_real_clip_without_changing_l1(videos_dir):
    from mouthsynth.evaluation.fullres import FullSource
    from mouthsynth.evaluation.video import MODEL, PER_FRAME, evaluate_videos
    from mouthsynth.inference.synthesizer import MouthSynthesizer

    result = evaluate_videos(
        [FullSource(videos_dir / CLIP, "W011")], MouthSynthesizer(), ("telea",), frames=24, lpips=False
    )
    assert len(result) >= 20 and len(result.flicker_people) >= 19
    flicker = {m: float(np.mean(result.flicker[m])) for m in (MODEL, PER_FRAME)}
    l1 = {m: float(np.mean(result.per_sample[m]["l1"])) for m in (MODEL, PER_FRAME)}
    assert flicker[MODEL] < 0.95 * flicker[PER_FRAME], flicker
    # L1 may not get worse by more than 2%; averaging fills over time lowers it a little (their
    # errors are partly independent), but a large drop would mean the filter saw the truth.
    assert l1[MODEL] < 1.02 * l1[PER_FRAME] and abs(l1[MODEL] - l1[PER_FRAME]) < 0.15 * l1[PER_FRAME], l1
    paired = result.paired()[f"{MODEL}-{PER_FRAME}"]["flicker"]
    assert paired["mean"] < 0


def test_lip_flow_is_the_identity_for_still_lips_and_follows_a_shift():
    from mouthsynth.inference.temporal import lip_flow

    lips = np.array([[20, 30], [32, 26], [44, 30], [32, 38], [16, 30], [48, 30]], np.float32)
    xs, ys = lip_flow(lips, lips, 64)
    grid_x, grid_y = np.meshgrid(np.arange(64), np.arange(64))
    assert np.abs(xs - grid_x).max() < 1e-4 and np.abs(ys - grid_y).max() < 1e-4
    # Every lip point 3 px to the right now: every pixel looks 3 px to its left in the old crop.
    xs, ys = lip_flow(lips + [3.0, 0.0], lips, 64)
    assert np.allclose(xs, grid_x - 3.0, atol=1e-3) and np.allclose(ys, grid_y, atol=1e-3)


def test_warp_moves_the_previous_fill_with_the_lips():
    """The upper lip rises 4 px: with the warp the old fill near it is looked up 4 px lower, so
    a horizontal edge in the old fill stays at the same place relative to the upper lip."""
    image = np.full((64, 64, 3), 120, np.uint8)
    old = np.zeros((64, 64, 3), np.uint8)
    old[28:, :] = 200  # an edge at row 28 in the previous frame's fill
    upper = np.array([[16, 24], [32, 24], [48, 24]], np.float32)
    lower = np.array([[48, 40], [32, 40], [16, 40]], np.float32)
    before = np.concatenate([upper, lower])
    after = np.concatenate([upper - [0.0, 4.0], lower])

    def crop(inner):
        c = _crop(image, inner)
        c.mask[:] = 0.0
        c.mask[16:44, 8:56] = 1.0
        return c

    results = {}
    for warp in (False, True):
        filt, state = TemporalFilter(0.9, motion=100.0, cut=0.5, sigma=100.0, warp=warp), TemporalState()
        filt(state, crop(before), old)
        results[warp] = filt(state, crop(after), np.full((64, 64, 3), 100, np.uint8)).astype(float)
    column = 32
    # Rows near the upper lip: the warped filter carries the edge up with the lip (row 28 - ~4).
    assert results[True][25, column, 0] > 150 > results[False][25, column, 0]


def test_detail_keeps_the_current_frames_fine_texture():
    rng = np.random.default_rng(1)
    image = np.full((64, 64, 3), 120, np.uint8)
    old = np.full((64, 64, 3), 60, np.uint8)
    new = np.clip(140 + rng.normal(0, 30, (64, 64, 3)), 0, 255).astype(np.uint8)
    outs = {}
    for detail in (0.0, 2.0):
        filt, state = TemporalFilter(0.9, motion=100.0, cut=0.5, sigma=100.0, detail=detail), TemporalState()
        filt(state, _crop(image, _inner()), old)
        outs[detail] = filt(state, _crop(image, _inner()), new).astype(float)
    inside = (slice(26, 38), slice(18, 46))

    def fine(x):
        import cv2

        return x - cv2.GaussianBlur(x, (0, 0), 1.0)

    # Without detail the noise is averaged away (x 0.1); with it, it stays the current frame's.
    std_new, std_plain, std_detail = (fine(x)[inside].std() for x in (new * 1.0, outs[0.0], outs[2.0]))
    assert std_plain < 0.3 * std_new and std_detail > 0.7 * std_new
    # The coarse level is still mostly the old fill's.
    assert outs[2.0][inside].mean() < 0.5 * (60 + 140)
