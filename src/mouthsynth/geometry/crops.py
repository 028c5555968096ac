"""The global and local crops around a mouth, and the paste-back of a generated crop.

A global crop is a similarity transform of the image: centred on the outer lips, rotated so the
mouth corners are level (head roll removed), side = ``global_scale`` x the outer-lip width,
resampled to ``size`` px. Pixel sizes in GeometryConfig are given for a 128-px crop and scale
with the crop size, so a crop prepared at 256 px has the same mask as one at 128 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mouthsynth.config import GeometryConfig
from mouthsynth.geometry.mouth import (
    binarize,
    boundary_band,
    feather,
    mouth_axes,
    mouth_open,
    polygon_mask,
)
from mouthsynth.landmarks.base import FaceLandmarks

REFERENCE_SIZE = 128  # the crop size GeometryConfig's pixel lengths refer to


@dataclass
class MouthCrop:
    matrix: np.ndarray  # 2x3 affine, image px -> crop px
    size: int
    image: np.ndarray  # S x S x 3 uint8: the real pixels
    mask: np.ndarray  # S x S float32 [0, 1], anti-aliased, dilated interior
    white_filled: np.ndarray  # S x S x 3 uint8: interior set to white
    boundary: np.ndarray  # S x S float32 [0, 1]: band around the mask boundary
    local_box: tuple[int, int, int, int]  # x0, y0, x1, y1 in crop px
    inner_lip: np.ndarray  # (K, 2) crop px
    outer_lip: np.ndarray  # (M, 2) crop px
    mouth_open: float
    image_shape: tuple[int, int]  # H, W of the source image

    @property
    def network_mask(self) -> np.ndarray:
        return binarize(self.mask)


def crop_matrix(outer_lip: np.ndarray, size: int, global_scale: float) -> np.ndarray:
    """Image -> crop similarity: mouth centre to crop centre, corners level, fixed scale."""
    along, normal, width = mouth_axes(outer_lip)
    rot = np.stack([along, normal])  # rows: crop x axis, crop y axis in image coordinates
    local = (outer_lip.astype(np.float64) - outer_lip[0]) @ rot.T
    centre_local = (local.min(0) + local.max(0)) / 2
    centre = outer_lip[0] + centre_local @ rot
    side = max(global_scale * width, 8.0)  # guard degenerate lips
    scale = size / side
    linear = scale * rot
    return np.hstack([linear, (size / 2 - linear @ centre)[:, None]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return (points.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(matrix.astype(np.float64))


def warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Resample ``image`` into the crop. Large downscales are area-averaged first: bilinear
    sampling alone would alias teeth and lip edges."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale >= 0.75:
        return cv2.warpAffine(
            image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    corners = transform_points(
        np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32), invert(matrix)
    )
    h, w = image.shape[:2]
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return cv2.warpAffine(
            image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    roi = image[y0:y1, x0:x1]
    factor = scale / 0.75  # shrink to just above the final scale, then finish bilinearly
    rw, rh = max(2, int(round((x1 - x0) * factor))), max(2, int(round((y1 - y0) * factor)))
    small = cv2.resize(roi, (rw, rh), interpolation=cv2.INTER_AREA)
    fx, fy = rw / (x1 - x0), rh / (y1 - y0)
    # small px -> image px, then image px -> crop px.
    to_image = np.array([[1 / fx, 0, x0 + 0.5 / fx - 0.5], [0, 1 / fy, y0 + 0.5 / fy - 0.5]])
    combined = matrix[:, :2] @ to_image[:, :2]
    combined = np.hstack([combined, (matrix[:, :2] @ to_image[:, 2] + matrix[:, 2])[:, None]])
    return cv2.warpAffine(
        small, combined, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def local_box(outer_lip_crop: np.ndarray, size: int, margin: float) -> tuple[int, int, int, int]:
    """The tight square around the outer lips, grown by ``margin`` of its side, inside the crop."""
    lo, hi = outer_lip_crop.min(0), outer_lip_crop.max(0)
    centre = (lo + hi) / 2
    side = float(max(hi - lo)) * (1 + 2 * margin)
    side = int(np.clip(round(side), 8, size))
    x0 = int(np.clip(round(centre[0] - side / 2), 0, size - side))
    y0 = int(np.clip(round(centre[1] - side / 2), 0, size - side))
    return x0, y0, x0 + side, y0 + side


def cut_mouth(
    image: np.ndarray,
    face: FaceLandmarks,
    size: int = 128,
    cfg: GeometryConfig | None = None,
    interior_mask: np.ndarray | None = None,
) -> MouthCrop:
    """Everything the generator and both discriminators need for one face.

    ``interior_mask`` (image-sized, white = fill) replaces the inner-lip polygon, for callers
    that already know the mouth region (a renderer does)."""
    cfg = cfg or GeometryConfig()
    px = size / REFERENCE_SIZE
    matrix = crop_matrix(face.outer_lip, size, cfg.global_scale)
    crop = warp_to_crop(image, matrix, size)
    inner = transform_points(face.inner_lip, matrix)
    outer = transform_points(face.outer_lip, matrix)
    if interior_mask is None:
        mask = polygon_mask(inner, (size, size), cfg.mask_dilation * px)
    else:
        mask = warp_to_crop(interior_mask.astype(np.float32), matrix, size)
        mask = np.clip(mask, 0.0, 1.0).astype(np.float32)
    hard = binarize(mask)
    white = np.where(hard[..., None] > 0, np.uint8(255), crop)
    return MouthCrop(
        matrix=matrix,
        size=size,
        image=crop,
        mask=mask,
        white_filled=white,
        boundary=boundary_band(mask, cfg.boundary_band * px),
        local_box=local_box(outer, size, cfg.local_margin),
        inner_lip=inner,
        outer_lip=outer,
        mouth_open=mouth_open(face.inner_lip),
        image_shape=(int(image.shape[0]), int(image.shape[1])),
    )


def global_box_corners(crop: MouthCrop) -> np.ndarray:
    """The global crop's four corners in image px (clockwise from the crop's top-left)."""
    s = crop.size
    return transform_points(np.array([[0, 0], [s, 0], [s, s], [0, s]], np.float32), invert(crop.matrix))


def _support_roi(alpha: np.ndarray, crop: MouthCrop) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(alpha > 0)
    if len(xs) == 0:
        return None
    box = np.array(
        [
            [xs.min(), ys.min()],
            [xs.max() + 1, ys.min()],
            [xs.max() + 1, ys.max() + 1],
            [xs.min(), ys.max() + 1],
        ]
    )
    corners = transform_points(box.astype(np.float32), invert(crop.matrix))
    h, w = crop.image_shape
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _crop_to_roi(crop: MouthCrop, roi: tuple[int, int, int, int]) -> np.ndarray:
    inv = invert(crop.matrix)
    inv[:, 2] -= roi[:2]
    return inv


def crop_alpha(crop: MouthCrop, sigma: float | None = None, cfg: GeometryConfig | None = None) -> np.ndarray:
    """The feathered paste-back alpha in crop pixels."""
    cfg = cfg or GeometryConfig()
    sigma = cfg.feather * crop.size / REFERENCE_SIZE if sigma is None else sigma
    return feather(crop.mask, sigma, cfg.feather_outward)


def alpha_in_image(crop: MouthCrop, alpha: np.ndarray | None = None) -> np.ndarray:
    """The paste-back alpha (float32, image sized): where and how much the image changes."""
    alpha = crop_alpha(crop) if alpha is None else alpha
    out = np.zeros(crop.image_shape, np.float32)
    roi = _support_roi(alpha, crop)
    if roi is None:
        return out
    x0, y0, x1, y1 = roi
    out[y0:y1, x0:x1] = cv2.warpAffine(
        alpha, _crop_to_roi(crop, roi), (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=0
    )
    return out


UPSAMPLING = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}


@dataclass(frozen=True)
class FillDetail:
    """How a generated fill is enlarged into the image: the resampling, and the photos' light
    detail stage, an unsharp mask of strength ``strength`` whose Gaussian is ``sigma`` crop px
    (so it lifts the same band of the fill's own detail whatever the enlargement). The strength
    fades with the enlargement (image px per crop px): none up to ``start``, all from ``full``
    (a step at ``start`` when ``full <= start``). The default is the plain bilinear fill."""

    upsampling: str = "linear"
    strength: float = 0.0
    sigma: float = 1.0
    start: float = 0.0
    full: float = 0.0

    def __post_init__(self) -> None:
        if self.upsampling not in UPSAMPLING:
            raise ValueError(f"upsampling must be one of {', '.join(UPSAMPLING)}, got {self.upsampling!r}")

    def strength_at(self, factor: float) -> float:
        """The unsharp strength for a fill enlarged ``factor`` times."""
        if self.full > self.start:
            return self.strength * float(np.clip((factor - self.start) / (self.full - self.start), 0.0, 1.0))
        return 0.0 if factor < self.start else self.strength


def enlargement(crop: MouthCrop) -> float:
    """Image pixels per crop pixel (above 1 when the crop is enlarged to paste it back)."""
    return 1.0 / float(np.sqrt(abs(np.linalg.det(crop.matrix[:, :2]))))


def enlarge_fill(
    generated: np.ndarray,
    to_roi: np.ndarray,
    size: tuple[int, int],
    factor: float,
    detail: FillDetail = FillDetail(),
) -> np.ndarray:
    """The generated crop resampled into image pixels (float32) by ``to_roi``, enlarged
    ``factor`` times, with ``detail``'s resampling and unsharp mask."""
    out = cv2.warpAffine(
        generated.astype(np.float32),
        to_roi,
        size,
        flags=UPSAMPLING[detail.upsampling],
        borderMode=cv2.BORDER_REPLICATE,
    )
    strength = detail.strength_at(factor)
    if strength > 0:
        sigma = max(detail.sigma * max(factor, 1.0), 0.3)
        blurred = cv2.GaussianBlur(out, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        out = out + strength * (out - blurred)
    return out


def paste_back(
    image: np.ndarray,
    crop: MouthCrop,
    generated: np.ndarray,
    alpha: np.ndarray | None = None,
    keep_detail: bool = True,
    detail: FillDetail = FillDetail(),
) -> np.ndarray:
    """Put a generated crop back into ``image``; only pixels under the feathered interior mask
    change.

    ``keep_detail=True`` pastes the change the generator made (generated - real crop) at the
    crop's resolution: an unchanged crop gives back the image exactly, and detail finer than the
    crop survives. ``keep_detail=False`` replaces the masked pixels by the upsampled generated
    crop: nothing of the old interior shows through (what synthesis wants); ``detail`` then says
    how it is enlarged (``FillDetail``)."""
    alpha = crop_alpha(crop) if alpha is None else alpha
    out = image.copy()
    roi = _support_roi(alpha, crop)
    if roi is None:
        return out
    x0, y0, x1, y1 = roi
    to_roi = _crop_to_roi(crop, roi)
    size = (x1 - x0, y1 - y0)
    region = out[y0:y1, x0:x1]
    alpha_img = cv2.warpAffine(alpha, to_roi, size, flags=cv2.INTER_LINEAR, borderValue=0)
    if keep_detail:
        delta = (generated.astype(np.float32) - crop.image.astype(np.float32)) * alpha[..., None]
        delta_img = cv2.warpAffine(delta, to_roi, size, flags=cv2.INTER_LINEAR, borderValue=0)
        blended = region.astype(np.float32) + delta_img
    else:
        gen_img = enlarge_fill(generated, to_roi, size, enlargement(crop), detail)
        a = alpha_img[..., None]
        blended = region.astype(np.float32) * (1 - a) + gen_img * a
    blended = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    out[y0:y1, x0:x1] = np.where(alpha_img[..., None] > 0, blended, region)
    return out
