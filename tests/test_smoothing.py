"""One-Euro filter: still landmarks lose their jitter, moving ones are followed with little lag."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mouthsynth.landmarks.smoothing import OneEuroFilter

FPS = 30.0


def _run(filt: OneEuroFilter, samples: np.ndarray) -> np.ndarray:
    return np.stack([filt(x, i / FPS) for i, x in enumerate(samples)])


def test_constant_signal_passes_through_unchanged():
    points = np.random.default_rng(0).uniform(0, 500, (40, 2)).astype(np.float32)
    out = _run(OneEuroFilter(1.0, 0.05), np.repeat(points[None], 20, axis=0))
    assert out.dtype == np.float32 and out.shape == (20, 40, 2)
    np.testing.assert_allclose(out, np.broadcast_to(points, out.shape), atol=1e-3)


def test_jitter_of_still_landmarks_is_reduced():
    rng = np.random.default_rng(1)
    still = np.array([[120.0, 80.0], [140.0, 82.0], [160.0, 80.0]])
    noisy = still + rng.normal(0, 1.0, (300, *still.shape))  # 1 px detector jitter
    out = _run(OneEuroFilter(min_cutoff=1.0, beta=0.05), noisy)[30:]  # past the start
    assert out.var(axis=0).mean() < 0.2 * noisy[30:].var(axis=0).mean()
    assert np.abs(out.mean(axis=0) - still).max() < 0.3  # smoothed, not biased


def test_first_step_matches_the_paper_formula_without_speed_term():
    filt = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    filt(np.zeros(3), 0.0)
    out = filt(np.ones(3), 1 / FPS)
    alpha = 1 / (1 + (1 / (2 * math.pi * 1.0)) / (1 / FPS))
    np.testing.assert_allclose(out, alpha, rtol=1e-6)


def test_step_is_followed_and_speed_reduces_the_lag():
    step = np.concatenate([np.zeros(30), np.full(60, 50.0)])[:, None]

    def frames_to_settle(beta: float) -> int:
        out = _run(OneEuroFilter(min_cutoff=1.0, beta=beta), step)[:, 0]
        assert np.all(np.diff(out) >= -1e-4)  # no overshoot back and forth
        return int(np.argmax(np.abs(out[30:] - 50.0) < 1.0))

    adaptive, plain = frames_to_settle(0.05), frames_to_settle(0.0)
    assert 0 < adaptive < 30  # caught up within a second
    assert adaptive < plain / 2


def test_reset_forgets_the_previous_face():
    filt = OneEuroFilter(1.0, 0.05)
    for i in range(10):
        filt(np.array([10.0, 10.0]), i / FPS)
    filt.reset()
    np.testing.assert_array_equal(filt(np.array([300.0, 200.0]), 10 / FPS), [300.0, 200.0])


def test_new_shape_starts_afresh():
    filt = OneEuroFilter()
    filt(np.zeros((20, 2)), 0.0)
    np.testing.assert_array_equal(filt(np.ones((40, 2)), 1 / FPS), np.ones((40, 2)))


def test_time_must_increase_and_parameters_be_valid():
    filt = OneEuroFilter()
    filt(np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="time must increase"):
        filt(np.zeros(2), 1.0)
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)
