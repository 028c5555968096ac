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
    filt = TemporalFilter(strength=0.5, motion=4.0, cut=0.08, sigma=100.0)
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
    # L1 may not get worse by more than 2%, nor move by more than 5% either way.
    assert l1[MODEL] < 1.02 * l1[PER_FRAME] and abs(l1[MODEL] - l1[PER_FRAME]) < 0.05 * l1[PER_FRAME], l1
    paired = result.paired()[f"{MODEL}-{PER_FRAME}"]["flicker"]
    assert paired["mean"] < 0
