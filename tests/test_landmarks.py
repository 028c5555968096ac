"""Landmarks on real photos: group shots, small grey faces, partial faces, animals."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mouthsynth.config import LandmarkConfig
from mouthsynth.io.images import read_image
from mouthsynth.landmarks import create_backend


@pytest.fixture(scope="module")
def backend():
    return create_backend()


def _inside(polygon: np.ndarray, points: np.ndarray, tolerance: float) -> bool:
    contour = polygon.reshape(-1, 1, 2).astype(np.float32)
    return all(cv2.pointPolygonTest(contour, (float(x), float(y)), True) >= -tolerance for x, y in points)


def test_group_photo_finds_all_six_small_faces(backend, photos_dir):
    faces = backend.detect(read_image(photos_dir / "insightface_group_t1.jpg"))
    assert len(faces) == 6
    widths = [f.face_box[2] - f.face_box[0] for f in faces]
    assert max(widths) < 160  # these are small faces, found through the HOG detector first
    areas = [(f.face_box[2] - f.face_box[0]) * (f.face_box[3] - f.face_box[1]) for f in faces]
    assert areas == sorted(areas, reverse=True)  # largest first


def test_small_grey_face_is_found(backend, photos_dir):
    image = read_image(photos_dir / "insightface_gray_112.png")
    assert image.shape == (112, 112, 3)
    faces = backend.detect(image)
    assert len(faces) == 1
    assert faces[0].inner_lip.shape == (20, 2) and faces[0].outer_lip.shape == (20, 2)


@pytest.mark.parametrize("name", ["liveportrait_s33.jpg", "liveportrait_s41.jpg"])
def test_animals_have_no_human_face(backend, photos_dir, name):
    assert backend.detect(read_image(photos_dir / name)) == []


@pytest.mark.parametrize(
    "name", ["face_recognition_obama.jpg", "stargan-v2_006930.jpg", "liveportrait_d19.jpg"]
)
def test_lip_contours_follow_the_shared_convention(backend, photos_dir, name):
    (face,) = backend.detect(read_image(photos_dir / name))
    for contour in (face.inner_lip, face.outer_lip):
        n = len(contour)
        corners = contour[[0, n // 2]]
        # Corners are the horizontal extremes of a roughly upright mouth.
        assert {int(np.argmin(contour[:, 0])), int(np.argmax(contour[:, 0]))} == {0, n // 2}
        # Upper-lip points (1 .. n/2-1) lie above their facing lower-lip points.
        upper, lower = contour[1 : n // 2], contour[n - 1 : n // 2 : -1]
        assert np.all(upper[:, 1] <= lower[:, 1] + 0.5)
        assert corners[:, 0].ptp() > 0
    # The inner lip lies inside the outer lip.
    assert _inside(face.outer_lip, face.inner_lip, tolerance=1.0)


def test_partial_face_still_gives_lips_inside_the_image(backend, photos_dir):
    image = read_image(photos_dir / "face_recognition_obama_partial_face.jpg")
    (face,) = backend.detect(image)
    h, w = image.shape[:2]
    assert np.all((face.outer_lip >= 0) & (face.outer_lip < [w, h]))


def test_dlib68_fallback_agrees_with_mediapipe(backend, photos_dir):
    image = read_image(photos_dir / "stargan-v2_006930.jpg")
    (mp_face,) = backend.detect(image)
    dlib_faces = create_backend(LandmarkConfig(backend="dlib68")).detect(image)
    assert len(dlib_faces) == 1
    d = dlib_faces[0]
    assert d.inner_lip.shape == (8, 2) and d.outer_lip.shape == (12, 2)
    width = np.ptp(mp_face.outer_lip[:, 0])
    centre_gap = np.linalg.norm(d.outer_lip.mean(0) - mp_face.outer_lip.mean(0))
    assert centre_gap < 0.1 * width


def test_face_boxes_skip_the_detector_and_give_the_same_lips(backend, photos_dir):
    image = read_image(photos_dir / "stargan-v2_006930.jpg")
    (face,) = backend.detect(image)
    (again,) = backend.detect(image, [face.face_box])
    assert np.abs(again.inner_lip - face.inner_lip).max() < 0.05 * np.ptp(face.outer_lip[:, 0])
