"""A local warp of the lower face that does not fold: lips and jaw move to new points, the rest
stays.

A thin-plate spline through all the moving mesh points (the earlier design) folded (its Jacobian
went below zero around the lip corners, shown as dark loops and a smeared lower lip) wherever
nearby points moved differently, e.g. the inner lip ring and the mesh's middle lip rings of an
opening mouth. Now the mouth has a fixed structure, warped piecewise affine: strips of triangles
inside the inner lip ring, a band between the inner and the outer ring, and a band of skin
around it (the outer ring offset outward, moving with it). An affine map keeps a triangle's
orientation unless the triangle flips, and the lip rules (lips.py) keep the rings from
flipping (on the wide-"O" benchmark pair a sliver at a lip corner still does in 3 of 100 frames,
too thin to show). Around the structure a smooth thin-plate field, pinned only to the skin ring, the jaw
line, the fixed anchors (eyes, nose, cheekbones) and the border of the region of interest, so
no two close points pull apart. Each output pixel is mapped back to where it comes from in the
input. Only the region below the eyes is resampled, so the eyes, the forehead and the
background are bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import RBFInterpolator

from mouthsynth.landmarks.mediapipe_backend import INNER_LIP, OUTER_LIP
from mouthsynth.transfer.motion import ANCHORS, JAW, MOVING

# The smooth field is evaluated on a coarse grid and upsampled: smooth fields need no more.
GRID_STEP = 4
# Moves smaller than this (px) leave the image untouched: "no motion" changes nothing.
MIN_MOTION_PX = 0.25
# Width of the skin band around the outer lip ring, as a share of the mouth's width.
SKIN_BAND = 0.12
# The skin between the lower lip and the jaw line keeps at least this share of its height.
CHIN_SQUEEZE = 0.5
# Room below the lowest moved point for the neck a lowered chin covers (share of nose to chin).
NECK_PAD = 0.35
# Pixels this close outside a triangle (barycentric) still count as inside it (shared edges).
_EDGE_TOL = 1e-6


def warp_region(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The lower-face box that may change: from the nose down to below the chin, cheek to cheek."""
    h, w = shape
    face = points[MOVING + ANCHORS]
    x0, _ = face.min(0)
    x1, _ = face.max(0)
    top = float(points[[4, 98, 327, 2]][:, 1].mean())  # nose tip / nostrils
    chin = float(points[152, 1])
    pad_x = 0.15 * (x1 - x0)
    pad_y = 0.35 * (chin - top)
    return (
        int(max(0, np.floor(x0 - pad_x))),
        int(max(0, np.floor(top))),
        int(min(w, np.ceil(x1 + pad_x))),
        int(min(h, np.ceil(chin + pad_y))),
    )


def _border_points(box: tuple[int, int, int, int], n: int = 12) -> np.ndarray:
    x0, y0, x1, y1 = box
    xs = np.linspace(x0, x1 - 1, n)
    ys = np.linspace(y0, y1 - 1, n)[1:-1]
    return np.concatenate(
        [
            np.stack([xs, np.full(n, y0)], 1),
            np.stack([xs, np.full(n, y1 - 1)], 1),
            np.stack([np.full(n - 2, x0), ys], 1),
            np.stack([np.full(n - 2, x1 - 1), ys], 1),
        ]
    )


@dataclass
class Mesh:
    """Triangles (T x 3 vertex indices) over vertices at their input (``src``) and output
    (``dst``) positions, in image px."""

    src: np.ndarray
    dst: np.ndarray
    triangles: np.ndarray

    def area_ratio(self) -> np.ndarray:
        """Each triangle's output area over its input area (below zero: flipped)."""
        return _signed_area(self.dst, self.triangles) / _safe(_signed_area(self.src, self.triangles))


def _signed_area(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _safe(area: np.ndarray) -> np.ndarray:
    return np.where(np.abs(area) < 1e-9, 1e-9, area)


def _outward(ring: np.ndarray) -> np.ndarray:
    """Unit outward normals of a closed ring's vertices (from their two neighbours)."""
    tangent = np.roll(ring, -1, 0) - np.roll(ring, 1, 0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    # Point away from the ring's centre (the ring's winding is not assumed).
    flip = np.sum(normal * (ring - ring.mean(0)), axis=1) < 0
    normal[flip] *= -1
    return normal


def _inside(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    contour = polygon.astype(np.float32).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in points])


def build_mesh(source: np.ndarray, target: np.ndarray) -> Mesh:
    """The mouth's mesh: the inner, outer and skin rings (20 points each, in that order); strips
    of triangles between each upper inner-lip point and the lower one facing it, then two bands
    of quads around the ring."""
    n = len(INNER_LIP)
    src_in, src_out = source[INNER_LIP].astype(np.float64), source[OUTER_LIP].astype(np.float64)
    dst_in, dst_out = target[INNER_LIP].astype(np.float64), target[OUTER_LIP].astype(np.float64)
    band = SKIN_BAND * float(np.linalg.norm(src_out[0] - src_out[n // 2]))
    src_skin = src_out + band * _outward(src_out)
    dst_skin = dst_out + (src_skin - src_out)
    inner, outer, skin = np.arange(n), n + np.arange(n), 2 * n + np.arange(n)
    tris = []
    # Inside the mouth, quads from corner to corner between facing lip points (a fan from a
    # centre folded at the corners of a tall "O"); the corners close them to triangles.
    for i in range(n // 2):
        a, b, c, d = inner[i], inner[i + 1], inner[(n - i - 1) % n], inner[(n - i) % n]
        tris += [t for t in ((a, b, c), (a, c, d)) if len(set(t)) == 3]
    for k in range(n):
        j = (k + 1) % n
        tris += [
            (inner[k], inner[j], outer[j]),
            (inner[k], outer[j], outer[k]),
            (outer[k], outer[j], skin[j]),
            (outer[k], skin[j], skin[k]),
        ]
    src = np.concatenate([src_in, src_out, src_skin])
    dst = np.concatenate([dst_in, dst_out, dst_skin])
    return Mesh(src, dst, np.array(tris, dtype=int))


def _outer_controls(
    source: np.ndarray, target: np.ndarray, mesh: Mesh, moving: list[int], box: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Where the smooth field around the mouth is pinned (input, output px): the skin ring, the
    jaw line, the anchors not moving and the border of the region."""
    n = len(INNER_LIP)
    ring_src, ring_dst = mesh.src[2 * n :], mesh.dst[2 * n :]
    # Points along its edges and the outer lip ring too: over the skin band, where the mesh
    # hands over to it, the field then moves as the mesh does.
    lip_src, lip_dst = mesh.src[n : 2 * n], mesh.dst[n : 2 * n]
    thirds = (1 / 3, 2 / 3)
    mid_src = np.concatenate([lip_src] + [(1 - t) * ring_src + t * np.roll(ring_src, -1, 0) for t in thirds])
    mid_dst = np.concatenate([lip_dst] + [(1 - t) * ring_dst + t * np.roll(ring_dst, -1, 0) for t in thirds])
    x0, y0, x1, y1 = box
    jaw = [i for i in JAW if i in set(moving)]
    jaw = [i for i in jaw if not _inside(ring_src, source[[i]])[0]]
    jaw_dst = target[jaw].astype(np.float64)
    # The skin below the lower lip is squeezed at most to CHIN_SQUEEZE of its own height: a
    # jaw point the lip would come closer to goes down with it (a lip that drops further than
    # the jaw rotated carries the chin; pinned where it was, the field folded below the lip).
    # Measured from the ring's bottom edge (along the lower lip) straight above each point.
    lower = [*range(n // 2, n), 0]
    order = np.argsort(ring_src[lower, 0])
    xs = ring_src[lower, 0][order]
    x = source[jaw, 0]
    above = (x > xs[0]) & (x < xs[-1])
    low_src = np.interp(x, xs, ring_src[lower, 1][order])
    low_dst = np.interp(x, xs, ring_dst[lower, 1][order])
    own = source[jaw, 1] - low_src
    below = above & (own > 0)
    jaw_dst[below, 1] = np.maximum(jaw_dst[below, 1], low_dst[below] + CHIN_SQUEEZE * own[below])
    anchors = np.array([a for a in ANCHORS if a not in set(moving)], dtype=int)
    ax, ay = source[anchors, 0], source[anchors, 1]
    anchors = anchors[(ax >= x0) & (ax < x1) & (ay >= y0) & (ay < y1)]
    border = _border_points(box)
    src = np.concatenate([ring_src, mid_src, source[jaw], source[anchors], border]).astype(np.float64)
    dst = np.concatenate([ring_dst, mid_dst, jaw_dst, source[anchors], border]).astype(np.float64)
    return src, dst


def _mesh_map(
    mesh: Mesh, box: tuple[int, int, int, int], map_x: np.ndarray, map_y: np.ndarray, blend: np.ndarray
) -> None:
    """Overwrite ``map_x``/``map_y`` (the box's pixels) inside the mesh's output triangles with
    each triangle's affine map back onto its input triangle, blended with the maps' own values
    by ``blend`` (per vertex, interpolated over each triangle: 0 affine, 1 the maps as they are)."""
    x0, y0, x1, y1 = box
    for tri in mesh.triangles:
        d, s = mesh.dst[tri], mesh.src[tri]
        area = (d[1, 0] - d[0, 0]) * (d[2, 1] - d[0, 1]) - (d[1, 1] - d[0, 1]) * (d[2, 0] - d[0, 0])
        if abs(area) < 1e-9:
            continue  # covers no pixel
        lo = np.maximum(np.floor(d.min(0)).astype(int), [x0, y0])
        hi = np.minimum(np.ceil(d.max(0)).astype(int) + 1, [x1, y1])
        if np.any(hi <= lo):
            continue
        py, px = np.mgrid[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float64)
        # Barycentric coordinates of each pixel in the output triangle.
        w1 = ((px - d[0, 0]) * (d[2, 1] - d[0, 1]) - (py - d[0, 1]) * (d[2, 0] - d[0, 0])) / area
        w2 = ((d[1, 0] - d[0, 0]) * (py - d[0, 1]) - (d[1, 1] - d[0, 1]) * (px - d[0, 0])) / area
        w0 = 1 - w1 - w2
        inside = (w0 >= -_EDGE_TOL) & (w1 >= -_EDGE_TOL) & (w2 >= -_EDGE_TOL)
        if not inside.any():
            continue
        sub_x = map_x[lo[1] - y0 : hi[1] - y0, lo[0] - x0 : hi[0] - x0]
        sub_y = map_y[lo[1] - y0 : hi[1] - y0, lo[0] - x0 : hi[0] - x0]
        # Towards the skin ring the affine map hands over to the smooth field already in the
        # maps (no seam where they meet).
        b = (w0 * blend[tri[0]] + w1 * blend[tri[1]] + w2 * blend[tri[2]])[inside]
        sub_x[inside] = (1 - b) * (w0 * s[0, 0] + w1 * s[1, 0] + w2 * s[2, 0])[inside] + b * sub_x[inside]
        sub_y[inside] = (1 - b) * (w0 * s[0, 1] + w1 * s[1, 1] + w2 * s[2, 1])[inside] + b * sub_y[inside]


def _smooth_map(
    src: np.ndarray, dst: np.ndarray, box: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The thin-plate backward map through the control points, fading to none at the border."""
    x0, y0, x1, y1 = box
    spline = RBFInterpolator(dst, src - dst, kernel="thin_plate_spline", smoothing=1e-3)
    gx = np.arange(x0, x1 + GRID_STEP, GRID_STEP, dtype=np.float64)
    gy = np.arange(y0, y1 + GRID_STEP, GRID_STEP, dtype=np.float64)
    grid = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    coarse = spline(grid).reshape(len(gy), len(gx), 2).astype(np.float32)
    full_w, full_h = (len(gx) - 1) * GRID_STEP + 1, (len(gy) - 1) * GRID_STEP + 1
    field = cv2.resize(coarse, (full_w, full_h), interpolation=cv2.INTER_LINEAR)[: y1 - y0, : x1 - x0]
    # Fade the field to zero at the region border so the seam is invisible.
    field *= _edge_ramp(y1 - y0, x1 - x0, margin=max(3, (x1 - x0) // 20))[..., None]
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return xx + field[..., 0], yy + field[..., 1]


def lower_face_map(
    source: np.ndarray,
    target: np.ndarray,
    shape: tuple[int, int],
    moving: np.ndarray | list[int] | None = None,
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
    """The box that changes and its backward map (float32 map_x, map_y, as cv2.remap takes);
    None when nothing moves."""
    moving = MOVING if moving is None else list(moving)
    motion = np.linalg.norm(target[moving] - source[moving], axis=1)
    if motion.max(initial=0.0) < MIN_MOTION_PX:
        return None
    box = warp_region(source, shape)
    x0, y0, x1, y1 = box
    mesh = build_mesh(source, target)
    # The region must hold the moved points and the skin ring too (an opening jaw goes lower),
    # with room below a lowered chin for the neck, which it covers.
    pad = 4 + int(NECK_PAD * max(0.0, float(source[152, 1] - source[4, 1])))
    both = np.concatenate([target[moving], mesh.src, mesh.dst])
    lo = np.floor(both.min(0)).astype(int) - 4
    hi = np.ceil(both.max(0)).astype(int) + [4, pad]
    h, w = shape
    x0, y0 = max(0, min(x0, lo[0])), max(0, min(y0, lo[1]))
    x1, y1 = min(w, max(x1, hi[0])), min(h, max(y1, hi[1]))
    box = (x0, y0, x1, y1)
    map_x, map_y = _smooth_map(*_outer_controls(source, target, mesh, moving, box), box)
    blend = np.zeros(len(mesh.src))
    blend[2 * len(INNER_LIP) :] = 1.0  # the skin ring
    _mesh_map(mesh, box, map_x, map_y, blend)
    return box, map_x, map_y


def warp_lower_face(
    image: np.ndarray, source: np.ndarray, target: np.ndarray, moving: np.ndarray | list[int] | None = None
) -> np.ndarray:
    """Warp ``image`` so the face's lips and jaw line go from ``source`` to ``target`` (478 x 2
    each; the other ``moving`` points, default MOVING, MotionTransfer.moving, only widen the
    region and follow the smooth field); the ANCHORS not among them stay."""
    found = lower_face_map(source, target, image.shape[:2], moving)
    if found is None:
        return image.copy()
    (x0, y0, x1, y1), map_x, map_y = found
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def _edge_ramp(h: int, w: int, margin: int) -> np.ndarray:
    ry = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    rx = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float32)
    ramp = np.minimum.outer(ry, rx) / margin
    return np.clip(ramp, 0.0, 1.0)
