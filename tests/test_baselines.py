"""Classical fillers: they fill the hole, only the hole, with plausible values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mouthsynth.errors import ConfigError
from mouthsynth.evaluation import metrics as M
from mouthsynth.evaluation.baselines import BASELINES, get_baseline
from mouthsynth.io.images import read_image

SIZE = 128
NAMES = sorted(BASELINES)


def ellipse_mask(size: int = SIZE, centre=(64, 64), axes=(24, 9)) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    return mask


def whiten(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None] >= 0.5, np.uint8(255), image)


@pytest.fixture(scope="module")
def face(photos_dir) -> np.ndarray:
    """A 128-px crop of the lower face, the mouth at its centre."""
    image = read_image(photos_dir / "stargan-v2_005735.jpg")
    return cv2.resize(image[637:893, 377:633], (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def test_registry():
    assert set(BASELINES) == {"telea", "ns", "blur"}
    assert get_baseline("telea") is BASELINES["telea"]
    with pytest.raises(ConfigError, match="unknown baseline 'lama'.*blur, ns, telea"):
        get_baseline("lama")


@pytest.mark.parametrize("name", NAMES)
def test_fills_only_the_hole_with_plausible_values(name, face):
    mask = ellipse_mask()
    white = whiten(face, mask)
    out = get_baseline(name)(white, mask)
    assert out.shape == face.shape and out.dtype == np.uint8
    hole = mask >= 0.5
    np.testing.assert_array_equal(out[~hole], white[~hole])
    # No white left in the hole, and far closer to the real mouth than the white fill.
    assert (out[hole] == 255).all(axis=-1).mean() < 0.01
    assert M.masked_l1(out, face, mask) < 0.2 * M.masked_l1(white, face, mask)
    assert M.seam_error(out, face, mask) < 0.2 * M.seam_error(white, face, mask)


@pytest.mark.parametrize("name", NAMES)
def test_constant_surroundings_give_a_constant_fill(name):
    colour = np.array([180, 90, 60], np.uint8)
    image = np.broadcast_to(colour, (64, 64, 3)).copy()
    mask = ellipse_mask(64, (30, 34), (16, 8))
    out = get_baseline(name)(whiten(image, mask), mask)
    assert np.abs(out.astype(int) - colour).max() <= 4  # Telea rounds a little; white is 195 off


@pytest.mark.parametrize("name", NAMES)
def test_soft_mask_is_binarised_like_the_white_fill(name, face):
    mask = ellipse_mask().copy()
    mask[10, 10] = 0.4  # known pixel for the network: must stay as it is
    mask[20, 20] = 0.6  # filled pixel: whitened, then filled
    white = whiten(face, mask)
    out = get_baseline(name)(white, mask)
    assert (out[10, 10] == white[10, 10]).all()
    assert not (out[20, 20] == 255).all()


@pytest.mark.parametrize("name", NAMES)
def test_empty_mask_changes_nothing(name, face):
    out = get_baseline(name)(face, np.zeros((SIZE, SIZE), np.float32))
    np.testing.assert_array_equal(out, face)


def test_blur_is_smooth_inside_the_hole(face):
    mask = ellipse_mask()
    white = whiten(face, mask)
    blurred = get_baseline("blur")(white, mask)
    telea = get_baseline("telea")(white, mask)
    # A smear: sharpness ratio far below 1, and below what Telea's fill keeps of the rim's texture.
    assert M.sharpness_ratio(blurred, face, mask) < 0.1
    assert M.sharpness_ratio(blurred, face, mask) < M.sharpness_ratio(telea, face, mask)
