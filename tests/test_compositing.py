"""The alpha paste-back's border colour correction: bounded, reaching as deep as configured, and
never touching the known pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mouthsynth.config import load_config
from mouthsynth.errors import ConfigError
from mouthsynth.geometry.crops import MouthCrop
from mouthsynth.inference.compositing import BorderMatch, border_match, composite_crop, match_border


def _crop(real_level: int, size: int = 128) -> MouthCrop:
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (size // 2, size // 2), (size // 4, size // 8), 0, 0, 360, 1.0, -1)
    image = np.full((size, size, 3), real_level, np.uint8)
    white = np.where(mask[..., None] > 0, np.uint8(255), image)
    return MouthCrop(
        np.eye(2, 3), size, image, mask, white, np.zeros_like(mask), (0, 0, size, size),
        np.zeros((0, 2)), np.zeros((0, 2)), 1.0, (size, size),
    )  # fmt: skip


def _change(crop: MouthCrop, fill_level: int, border: BorderMatch) -> np.ndarray:
    fill = np.full_like(crop.image, fill_level)
    return match_border(fill, crop, border).astype(np.int16) - fill


@pytest.mark.parametrize("levels", [12.0, 24.0])
def test_correction_is_bounded_and_leaves_known_pixels(levels):
    crop = _crop(100)
    change = _change(crop, 160, BorderMatch(levels, 6.0))  # the fill is 60 levels too bright
    inside = crop.mask >= 0.5
    assert np.abs(change).max() <= levels + 0.5
    assert change[inside].min() <= -0.75 * levels  # at the edge nearly all the allowed step
    assert (change[inside] <= 0).all()  # only towards the known colour
    # The fill outside the interior is what the known pixels replace; it is left as generated.
    assert (change[~inside] == 0).all()


def test_depth_sets_how_far_inward_it_reaches():
    crop = _crop(100)
    inside = crop.mask >= 0.5
    depth_px = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
    deep = inside & (depth_px > 8)
    shallow = np.abs(_change(crop, 160, BorderMatch(24.0, 3.0)))[deep].mean()
    wide = np.abs(_change(crop, 160, BorderMatch(24.0, 12.0)))[deep].mean()
    assert wide > 2 * shallow


def test_a_fill_of_the_known_colour_is_unchanged():
    crop = _crop(120)
    assert np.abs(_change(crop, 120, BorderMatch())).max() == 0


def test_config_carries_the_setting_and_refuses_nonsense():
    cfg = load_config(overrides=["inference.color_match_max=30", "inference.color_match_depth=4"])
    assert border_match(cfg.inference) == BorderMatch(30.0, 4.0)
    assert border_match(load_config().inference) == BorderMatch()  # one set of defaults
    assert border_match(load_config(overrides=["inference.color_match=false"]).inference) is None
    with pytest.raises(ConfigError, match="color_match_depth"):
        load_config(overrides=["inference.color_match_depth=0"])


def test_no_border_pastes_the_fill_as_generated():
    """``color_match: false`` (border None) leaves the fill's colour step at the edge in place."""
    crop = _crop(120)
    fill = np.full_like(crop.image, 160)
    assert np.array_equal(composite_crop(fill, crop, "alpha", None), fill)
    assert not np.array_equal(composite_crop(fill, crop, "alpha", BorderMatch()), fill)
