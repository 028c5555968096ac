"""Training views of one prepared sample (numpy/OpenCV): flip with mirrored landmarks, scale,
rotation and translation jitter, colour jitter; photos optionally made video-like.

Training sees what inference sees: the prepared crop (stored at 2x) is resampled once, by the
resampler inference cuts its crops with (``geometry.crops.warp_to_crop``: area-averaged below
0.75x, bilinear above), and the interior mask is the same anti-aliased polygon resampled the same
way and binarised at one half, as inference does. There is no random mask dilation by default
(``data.mask_dilate_max``): inference never dilates beyond ``geometry.mask_dilation``.
"""

from __future__ import annotations

import cv2
import numpy as np

from mouthsynth.config import DataConfig
from mouthsynth.geometry.crops import warp_to_crop
from mouthsynth.geometry.mouth import binarize


def mirror_contour(contour: np.ndarray, width: int) -> np.ndarray:
    """Horizontal flip of a lip contour: x mirrored, and the order mirrored so index 0 is still
    a corner and the upper lip still comes first (index i -> (n//2 - i) mod n)."""
    n = len(contour)
    flipped = contour.copy()
    flipped[:, 0] = (width - 1) - flipped[:, 0]
    order = [(n // 2 - i) % n for i in range(n)]
    return flipped[order]


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``outer`` after ``inner``, both 2x3 affine matrices."""
    a = np.vstack([outer, [0, 0, 1]])
    b = np.vstack([inner, [0, 0, 1]])
    return (a @ b)[:2]


def resize_matrix(big: int, size: int) -> np.ndarray:
    """Pixel-centre-aligned scaling of a ``big`` crop to ``size``."""
    s = size / big
    return np.array([[s, 0, 0.5 * s - 0.5], [0, s, 0.5 * s - 0.5]], np.float64)


def downscale(image: np.ndarray, size: int) -> np.ndarray:
    """The prepared 2x crop at ``size`` through the inference resampler."""
    if image.shape[0] == size:
        return image
    return warp_to_crop(image, resize_matrix(image.shape[0], size), size)


VIDEO_LIKE_SHRINK = (1.5, 4.0)  # log-uniform; ~2.5-3x brings a photo crop to a video crop's detail
VIDEO_LIKE_QUALITY = (40, 90)  # JPEG quality, uniform


def video_like(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A photo crop as a talking-head video would show it: shrunk (area), JPEG-compressed and
    enlarged back (bilinear) to its own size. Input and target of the sample both get it, so the
    model learns what lies inside a soft, compressed mouth from the photos' many people."""
    height, width = image.shape[:2]
    shrink = float(np.exp(rng.uniform(*np.log(VIDEO_LIKE_SHRINK))))
    quality = int(rng.integers(VIDEO_LIKE_QUALITY[0], VIDEO_LIKE_QUALITY[1] + 1))
    small = cv2.resize(
        image, (max(8, round(width / shrink)), max(8, round(height / shrink))), interpolation=cv2.INTER_AREA
    )
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if ok:  # channel order does not matter: decoding undoes encoding's
        small = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def random_similarity(
    rng: np.random.Generator, size: int, scale: float, degrees: float, translate: float
) -> np.ndarray:
    """A random scale (1 +- ``scale``) and turn (+- ``degrees``) about the crop centre, then a
    shift of +- ``translate`` of the side."""
    factor = 1.0 + rng.uniform(-scale, scale)
    angle = rng.uniform(-degrees, degrees)
    shift = rng.uniform(-translate, translate, size=2) * size
    matrix = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), angle, factor)
    matrix[:, 2] += shift
    return matrix


def jitter_matrix(rng: np.random.Generator, size: int, cfg: DataConfig) -> np.ndarray:
    """The training jitter of a crop."""
    return random_similarity(rng, size, cfg.scale_jitter, cfg.rotate_deg, cfg.translate)


def color_jitter(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    if amount <= 0:
        return image
    x = image.astype(np.float32)
    brightness = 1.0 + rng.uniform(-amount, amount)
    contrast = 1.0 + rng.uniform(-amount, amount)
    saturation = 1.0 + rng.uniform(-amount, amount)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * saturation
    x = (x - x.mean()) * contrast + x.mean()
    x = x * brightness
    return np.clip(x, 0, 255).astype(np.uint8)


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask, kernel)


def _view_matrix(
    big: int, size: int, outer_lip: np.ndarray, rng: np.random.Generator, cfg: DataConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Prepared crop px -> training view px (flip, then jitter), and the outer lip it maps."""
    matrix = resize_matrix(big, size)
    if cfg.flip and rng.random() < 0.5:
        flip = np.array([[-1.0, 0.0, big - 1.0], [0.0, 1.0, 0.0]])
        matrix = _compose(matrix, flip)
        outer_lip = mirror_contour(outer_lip, big)
        outer_lip[:, 0] = (big - 1) - outer_lip[:, 0]  # mirror_contour flipped x; undo: M flips
    return _compose(jitter_matrix(rng, size, cfg), matrix), outer_lip


def _render(
    image: np.ndarray, mask: np.ndarray, matrix: np.ndarray, size: int, colour_seed: int, cfg: DataConfig
) -> tuple[np.ndarray, np.ndarray]:
    image = warp_to_crop(np.ascontiguousarray(image), matrix, size)
    mask = warp_to_crop(np.ascontiguousarray(mask, dtype=np.float32), matrix, size)
    image = color_jitter(image, np.random.default_rng(colour_seed), cfg.color_jitter)
    return image, binarize(mask)


def _first_view(
    image: np.ndarray,
    mask: np.ndarray,
    outer_lip: np.ndarray,
    size: int,
    rng: np.random.Generator,
    cfg: DataConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """``augment``'s view, with the matrix and colour seed a second view of it reuses."""
    matrix, outer_lip = _view_matrix(image.shape[0], size, outer_lip, rng, cfg)
    colour_seed = int(rng.integers(2**31))
    image, hard = _render(image, mask, matrix, size, colour_seed, cfg)
    outer_lip = outer_lip.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]
    if cfg.mask_dilate_max > 0:
        hard = dilate(hard, int(rng.integers(0, cfg.mask_dilate_max + 1)))
    return image, hard, outer_lip.astype(np.float32), matrix, colour_seed


def augment(
    image: np.ndarray,
    mask: np.ndarray,
    outer_lip: np.ndarray,
    size: int,
    rng: np.random.Generator,
    cfg: DataConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``image`` (B x B x 3 uint8, the prepared crop), ``mask`` (B x B float32 in [0, 1]) and
    ``outer_lip`` (crop px at B) -> the same at ``size``, augmented, resampled once."""
    return _first_view(image, mask, outer_lip, size, rng, cfg)[:3]


def pair_jitter_matrix(rng: np.random.Generator, size: int, cfg: DataConfig) -> np.ndarray:
    """The small move between two consecutive frames' crops of a still mouth (landmark jitter)."""
    return random_similarity(rng, size, cfg.pair_scale, cfg.pair_rotate_deg, cfg.pair_translate)


def sampling_theta(view_to_other: np.ndarray, size: int) -> np.ndarray:
    """``view_to_other`` (2x3, px -> px) as the ``theta`` of ``F.affine_grid`` (normalised
    coordinates, ``align_corners=False``) that samples the other view on this view's pixels."""
    to_norm = np.array([[2.0 / size, 0, 1.0 / size - 1], [0, 2.0 / size, 1.0 / size - 1], [0, 0, 1]])
    full = np.vstack([view_to_other, [0, 0, 1]])
    return (to_norm @ full @ np.linalg.inv(to_norm))[:2]


def augment_pair(
    image: np.ndarray,
    mask: np.ndarray,
    outer_lip: np.ndarray,
    size: int,
    rng: np.random.Generator,
    cfg: DataConfig,
    next_frame: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``augment`` plus a second view of the same mouth as the next video frame would cut it:
    the crop moved by ``pair_jitter_matrix``, the same colours, and either the same frame with
    the interior grown or shrunk by up to ``pair_mask_px`` (landmark jitter alone) or, given
    ``next_frame`` (its prepared image and mask), the real next frame (the mouth moved, teeth
    shown or hidden: what the video shows). Prepared crops are each cut on their own lips, as
    the video path cuts each frame's, so the next frame is rendered through this view's own
    matrix. Returns the first view (image, mask, outer lip), the second view (image, mask) and
    the ``affine_grid`` theta that samples the second view on the first view's pixels."""
    first, first_mask, outer_lip, matrix, colour_seed = _first_view(image, mask, outer_lip, size, rng, cfg)
    move = pair_jitter_matrix(rng, size, cfg)
    grow = int(rng.integers(-cfg.pair_mask_px, cfg.pair_mask_px + 1))
    if next_frame is not None:
        second, second_mask = _render(*next_frame, _compose(move, matrix), size, colour_seed, cfg)
        grow = 0  # its own mask already moved; the draw above still keeps the stream the same
    else:
        second, second_mask = _render(image, mask, _compose(move, matrix), size, colour_seed, cfg)
    if grow > 0:
        second_mask = dilate(second_mask, grow)
    elif grow < 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * -grow + 1, 2 * -grow + 1))
        eroded = cv2.erode(second_mask, kernel)
        second_mask = eroded if eroded.any() else second_mask
    theta = sampling_theta(move, size)
    return first, first_mask, outer_lip, second, second_mask, theta.astype(np.float32)
