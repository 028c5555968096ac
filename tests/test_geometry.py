"""Mouth geometry on real faces, and properties of its transforms on constructed lips."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mouthsynth.config import GeometryConfig
from mouthsynth.geometry import (
    alpha_in_image,
    boundary_weight_map,
    cut_mouth,
    global_box_corners,
    mouth_open,
    paste_back,
)
from mouthsynth.geometry.crops import FillDetail, transform_points
from mouthsynth.io.images import read_image
from mouthsynth.landmarks import create_backend
from mouthsynth.landmarks.base import FaceLandmarks, points_box


@pytest.fixture(scope="module")
def backend():
    return create_backend()


@pytest.fixture(scope="module")
def open_face(backend, photos_dir):
    image = read_image(photos_dir / "stargan-v2_006930.jpg")
    (face,) = backend.detect(image)
    return image, face


def test_mouth_open_separates_open_from_closed_of_the_same_person(backend, photos_dir):
    # Obama speaking vs Obama with closed lips.
    (opened,) = backend.detect(read_image(photos_dir / "face_recognition_obama.jpg"))
    (closed,) = backend.detect(read_image(photos_dir / "face_recognition_obama3.jpg"))
    assert mouth_open(opened.inner_lip) > 0.15
    assert mouth_open(closed.inner_lip) < GeometryConfig().min_open
    assert mouth_open(opened.inner_lip) > 3 * mouth_open(closed.inner_lip)


def test_interior_mask_lies_inside_the_outer_lips(open_face):
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    hard = crop.mask >= 0.5
    assert hard.sum() > 100  # a wide-open mouth
    outer = np.zeros_like(hard, np.uint8)
    cv2.fillPoly(outer, [np.round(crop.outer_lip).astype(np.int32)], 1)
    outer = cv2.dilate(outer, np.ones((3, 3), np.uint8))
    assert np.all(outer[hard] == 1)
    # ... and covers the inner-lip polygon.
    inner = np.zeros_like(hard, np.uint8)
    cv2.fillPoly(inner, [np.round(crop.inner_lip).astype(np.int32)], 1)
    inner = cv2.erode(inner, np.ones((3, 3), np.uint8))
    assert np.all(hard[inner == 1])


def test_crop_removes_head_roll_and_centres_the_mouth(open_face):
    image, face = open_face
    h, w = image.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0)
    rotated = cv2.warpAffine(image, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    for img, f in ((image, face), (rotated, face.transformed(rot))):
        crop = cut_mouth(img, f, 128)
        n = len(crop.outer_lip)
        left, right = crop.outer_lip[0], crop.outer_lip[n // 2]
        assert abs(left[1] - right[1]) < 0.5  # corners level
        centre = (crop.outer_lip.min(0) + crop.outer_lip.max(0)) / 2
        assert np.allclose(centre, 64, atol=8)
        width = np.linalg.norm(right - left)
        assert width == pytest.approx(128 / GeometryConfig().global_scale, rel=0.01)


def test_crops_of_rotated_image_match(open_face):
    image, face = open_face
    h, w = image.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), -15, 1.0)
    rotated = cv2.warpAffine(image, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    a = cut_mouth(image, face, 128)
    b = cut_mouth(rotated, face.transformed(rot), 128)
    assert np.abs(a.mask - b.mask).mean() < 0.01
    assert np.abs(a.image.astype(float) - b.image).mean() < 6  # only resampling differs


def test_local_box_holds_the_outer_lips(open_face):
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    x0, y0, x1, y1 = crop.local_box
    assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 128
    assert x1 - x0 == y1 - y0  # square
    lo, hi = crop.outer_lip.min(0), crop.outer_lip.max(0)
    assert x0 <= lo[0] and y0 <= lo[1] and hi[0] <= x1 and hi[1] <= y1
    assert x1 - x0 < 100  # tight: much smaller than the global crop


def test_white_filled_input_is_white_exactly_inside_the_mask(open_face):
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    hard = crop.mask >= 0.5
    assert np.all(crop.white_filled[hard] == 255)
    assert np.array_equal(crop.white_filled[~hard], crop.image[~hard])


def test_boundary_weights_peak_on_the_mask_edge(open_face):
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    weights = boundary_weight_map(crop.boundary, 5.0)
    hard = (crop.mask >= 0.5).astype(np.uint8)
    edge = hard - cv2.erode(hard, np.ones((3, 3), np.uint8))
    deep = cv2.erode(hard, np.ones((15, 15), np.uint8))
    far = 1 - cv2.dilate(hard, np.ones((21, 21), np.uint8))
    assert deep.any()
    assert weights[edge == 1].mean() > 4.0
    assert weights[edge == 1].mean() > weights[deep == 1].mean() + 2
    assert np.all(weights[far == 1] == 1.0)


def test_paste_back_of_an_unchanged_crop_is_exact(open_face):
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    assert np.array_equal(paste_back(image, crop, crop.image), image)


def test_paste_back_changes_only_pixels_inside_the_mouth(open_face):
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    out = paste_back(image, crop, crop.white_filled, keep_detail=False)
    changed = np.any(out != image, axis=-1)
    assert changed.sum() > 1000
    alpha = alpha_in_image(crop)
    assert not changed[alpha == 0].any()
    # The change is confined to the inner lips grown by a few pixels (dilation + feather).
    region = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(region, [np.round(face.inner_lip).astype(np.int32)], 1)
    grow = int(np.ceil(1024 / 128 * 6))
    region = cv2.dilate(region, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    assert not changed[region == 0].any()
    # Inside the mouth the result is the pasted white.
    # (well inside: the feathered edge is ~3 crop px = ~13 image px wide here)
    inner = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(face.inner_lip).astype(np.int32)], 1)
    inner = cv2.erode(inner, np.ones((31, 31), np.uint8))
    assert inner.sum() > 500
    assert out[inner == 1].min() > 250
    # keep_detail pastes only the change: the same region changes, the old detail shows through.
    detailed = paste_back(image, crop, crop.white_filled, keep_detail=True)
    assert not np.any(detailed != image, axis=-1)[alpha == 0].any()
    assert detailed[inner == 1].mean() > 200


@pytest.mark.parametrize("outward", [True, False])
def test_the_outward_feather_shows_none_of_the_old_interior(open_face, outward):
    """The old interior (here black) must not show through the fill: with the outward feather
    every pixel of the interior is the fill; the centred one mixes the old interior into its edge."""
    from mouthsynth.geometry import crop_alpha

    image, face = open_face
    cfg = GeometryConfig(feather_outward=outward)
    crop = cut_mouth(image, face, 128, cfg)
    hard = crop.mask >= 0.5
    alpha = crop_alpha(crop, cfg=cfg)
    assert np.all(alpha[hard] == 1.0) == outward
    assert alpha[~hard].max() > 0.3  # a soft edge either way, over the known pixels
    hard_in_image = alpha_in_image(crop, hard.astype(np.float32))
    old = image.copy()
    old[hard_in_image > 0.01] = 0  # the old interior: black
    generated = np.where(hard[..., None], np.uint8(128), crop.image)
    out = paste_back(old, crop, generated, alpha, keep_detail=False)
    interior = hard_in_image >= 0.999
    assert interior.sum() > 1000
    darkest = out[interior].min()
    if outward:
        assert darkest >= 127  # all fill
    else:
        assert darkest < 100  # the inner half of the feather shows the black


def test_global_box_corners_map_to_crop_corners(open_face):
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    back = transform_points(global_box_corners(crop), crop.matrix)
    assert np.allclose(back, [[0, 0], [128, 0], [128, 128], [0, 128]], atol=1e-3)


def test_prepared_size_gives_the_same_mask_scaled(open_face):
    image, face = open_face
    small, big = cut_mouth(image, face, 128), cut_mouth(image, face, 256)
    down = cv2.resize(big.mask, (128, 128), interpolation=cv2.INTER_AREA)
    assert np.abs(down - small.mask).mean() < 0.01


# --- properties on constructed lips --------------------------------------------------------


def _ellipse_lips(cx: float, cy: float, width: float, opening: float, n_inner: int = 20) -> FaceLandmarks:
    def contour(w: float, h_up: float, h_low: float, n: int) -> np.ndarray:
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        # Corner at index 0 (left), upper lip first (y smaller), other corner at n // 2.
        x = -np.cos(t) * w / 2
        y = np.where(np.sin(t) >= 0, -np.sin(t) * h_up, -np.sin(t) * h_low)
        return np.stack([cx + x, cy + y], 1).astype(np.float32)

    inner = contour(width * 0.8, opening / 2, opening / 2, n_inner)
    outer = contour(width, opening / 2 + width * 0.15, opening / 2 + width * 0.2, 20)
    pts = np.concatenate([inner, outer])
    return FaceLandmarks(inner, outer, points_box(pts), pts, "constructed")


@settings(max_examples=40, deadline=None)
@given(
    angle=st.floats(-40, 40),
    scale=st.floats(0.3, 3.0),
    tx=st.floats(-50, 50),
    ty=st.floats(-50, 50),
    opening=st.floats(0.0, 40.0),
)
def test_mouth_open_is_invariant_to_similarity_transforms(angle, scale, tx, ty, opening):
    face = _ellipse_lips(200, 200, 80, opening)
    m = cv2.getRotationMatrix2D((200, 200), angle, scale)
    m[:, 2] += (tx, ty)
    moved = face.transformed(m)
    assert mouth_open(moved.inner_lip) == pytest.approx(mouth_open(face.inner_lip), abs=1e-4)
    expected = opening / (80 * 0.8)
    assert mouth_open(face.inner_lip) == pytest.approx(expected, abs=0.02)


@settings(max_examples=25, deadline=None)
@given(angle=st.floats(-60, 60), scale=st.floats(0.5, 2.5), opening=st.floats(8.0, 40.0))
@example(angle=0.0, scale=0.6522501372445113, opening=24.0)  # an edge one sub-pixel row apart
def test_crop_geometry_is_invariant_to_similarity_transforms(angle, scale, opening):
    face = _ellipse_lips(200, 200, 80, opening)
    image = np.full((400, 400, 3), 128, np.uint8)
    m = cv2.getRotationMatrix2D((200, 200), angle, scale)
    reference = cut_mouth(image, face, 128)
    moved = cut_mouth(image, face.transformed(m), 128)
    assert np.allclose(moved.inner_lip, reference.inner_lip, atol=0.05)
    assert moved.local_box == pytest.approx(reference.local_box, abs=1)
    # 4x supersampled rasterisation: vertices within 0.05 px can round to neighbouring points of
    # the 1/4-px grid, so an edge nearly parallel to a row can move by one sub-pixel row: 4 of a
    # pixel's 16 sub-pixels (0.25) at most, on the edge; on average the masks agree closely.
    assert np.abs(moved.mask - reference.mask).max() <= 0.26
    assert np.abs(moved.mask - reference.mask).mean() < 0.005
    # Crop matrix and its inverse agree.
    corners = global_box_corners(moved)
    assert np.allclose(
        transform_points(corners, moved.matrix), [[0, 0], [128, 0], [128, 128], [0, 128]], atol=1e-3
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), angle=st.floats(-30, 30), opening=st.floats(6.0, 30.0))
def test_paste_back_round_trip_and_locality_on_random_images(seed, angle, opening):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (300, 320, 3), dtype=np.uint8)
    face = _ellipse_lips(160, 150, 70, opening).transformed(cv2.getRotationMatrix2D((160, 150), angle, 1.0))
    crop = cut_mouth(image, face, 128)
    assert np.array_equal(paste_back(image, crop, crop.image), image)
    noise = rng.integers(0, 256, crop.image.shape, dtype=np.uint8)
    out = paste_back(image, crop, noise)
    changed = np.any(out != image, axis=-1)
    assert not changed[alpha_in_image(crop) == 0].any()


# --- the photos' detail stage -------------------------------------------------------------------


def _interior_laplacian_variance(image: np.ndarray, region: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F, ksize=1)[region].var())


def test_detail_stage_sharpens_the_fill_inside_the_mask_only(open_face):
    """The unsharp mask of the enlarged fill raises its Laplacian variance inside the interior
    (a blurred synthetic fill, enlarged ~6x onto a 1024-px photo), changes nothing outside the
    paste-back alpha, and at strength 0 is the plain bilinear paste-back bit for bit."""
    image, face = open_face
    crop = cut_mouth(image, face, 128)
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, crop.image.shape, dtype=np.uint8)
    fill = cv2.GaussianBlur(texture, (0, 0), 1.0)
    plain = paste_back(image, crop, fill, keep_detail=False)
    sharp = paste_back(image, crop, fill, keep_detail=False, detail=FillDetail(strength=2.0, sigma=0.5))
    zero = paste_back(image, crop, fill, keep_detail=False, detail=FillDetail(strength=0.0, sigma=0.5))
    assert np.array_equal(zero, plain)
    outside = alpha_in_image(crop) == 0
    assert np.array_equal(sharp[outside], image[outside])
    assert np.array_equal(plain[outside], image[outside])
    interior = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(interior, [np.round(face.inner_lip).astype(np.int32)], 1)
    interior = cv2.erode(interior, np.ones((31, 31), np.uint8)) > 0  # past the feather
    assert interior.sum() > 500
    assert _interior_laplacian_variance(sharp, interior) > 2 * _interior_laplacian_variance(plain, interior)
    # The mean colour stays: the stage adds detail, not a tint.
    assert abs(sharp[interior].mean() - plain[interior].mean()) < 2.0


def test_enlarge_fill_at_strength_zero_is_the_old_bilinear_warp():
    from mouthsynth.geometry.crops import enlarge_fill

    rng = np.random.default_rng(1)
    fill = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    matrix = np.array([[3.1, 0.2, -5.0], [-0.2, 3.1, 7.0]])
    old = cv2.warpAffine(
        fill.astype(np.float32), matrix, (150, 140), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    assert np.array_equal(enlarge_fill(fill, matrix, (150, 140), 3.1, FillDetail("linear", 0.0, 0.5)), old)
    with pytest.raises(ValueError, match="upsampling"):
        FillDetail("nearest")


def test_detail_stage_fades_in_with_the_enlargement(open_face):
    """Off where the crop is not enlarged (up to ``start``), partial between, full from
    ``full``: a fill enlarged ~6x gets it all, the same fill with ``start`` above its
    enlargement gets none."""
    from mouthsynth.geometry.crops import enlargement

    image, face = open_face
    crop = cut_mouth(image, face, 128)
    factor = enlargement(crop)
    assert factor > 4
    fill = cv2.GaussianBlur(
        np.random.default_rng(2).integers(0, 256, crop.image.shape, dtype=np.uint8), (0, 0), 1.0
    )
    plain = paste_back(image, crop, fill, keep_detail=False)

    def pasted(start: float, full: float) -> np.ndarray:
        detail = FillDetail(strength=3.0, sigma=0.5, start=start, full=full)
        return paste_back(image, crop, fill, keep_detail=False, detail=detail)

    full = pasted(0.0, 0.0)
    assert np.array_equal(pasted(1.0, 2.0), full)
    assert np.array_equal(pasted(factor + 0.1, 0.0), plain)
    assert np.array_equal(pasted(factor, factor + 1), plain)
    half = pasted(factor - 1, factor + 1)
    inside = alpha_in_image(crop) > 0.99
    gap = np.abs(full.astype(int) - plain.astype(int))[inside].mean()
    assert 0.3 * gap < np.abs(half.astype(int) - plain.astype(int))[inside].mean() < 0.7 * gap
