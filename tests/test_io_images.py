"""Image reading and writing: odd files are converted or refused with a clear line; writes are
atomic and never replace a file unasked."""

from __future__ import annotations

import os
import stat

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from mouthsynth.errors import InputError, OutputExistsError
from mouthsynth.io.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, iter_inputs, read_image, write_image


def _pattern(h: int = 40, w: int = 60) -> np.ndarray:
    """An asymmetric RGB image: any flip or rotation changes it."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    rgb[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    rgb[: h // 4, : w // 5, 2] = 255
    return rgb


# --- refusals ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: None, "file not found"),
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("hello, I am not a picture\n" * 20), "not an image"),
        (lambda p: p.write_bytes(os.urandom(4096)), "not an image"),
    ],
    ids=["missing", "folder", "empty", "text", "random-bytes"],
)
def test_unusable_files_raise_one_clear_line(tmp_path, make, problem):
    path = tmp_path / "face.jpg"
    make(path)
    with pytest.raises(InputError) as info:
        read_image(path)
    message = str(info.value)
    assert problem in message and str(path) in message
    assert "\n" not in message
    assert info.value.path == str(path)


def test_truncated_png_is_refused(tmp_path):
    ok, buf = cv2.imencode(".png", _pattern())
    path = tmp_path / "cut.png"
    path.write_bytes(buf.tobytes()[: len(buf) // 2])
    with pytest.raises(InputError, match="not an image"):
        read_image(path)


def test_too_small_image_is_refused(tmp_path):
    path = tmp_path / "dot.png"
    cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="too small"):
        read_image(path)


# --- conversions ------------------------------------------------------------------------------
def test_grey_becomes_three_equal_channels(tmp_path):
    grey = _pattern()[..., 0]
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), grey)
    image = read_image(path)
    assert image.shape == (*grey.shape, 3) and image.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(image[..., c], grey)


def test_grey_alpha_is_composited_on_white(tmp_path):
    grey = np.full((20, 30), 40, np.uint8)
    alpha = np.zeros_like(grey)
    alpha[:, 15:] = 255  # right half opaque, left half transparent
    path = tmp_path / "la.png"
    Image.fromarray(np.dstack([grey, alpha]), mode="LA").save(path)
    image = read_image(path)
    assert image.shape == (20, 30, 3)
    assert (image[:, :15] == 255).all()
    assert (image[:, 15:] == 40).all()


def test_rgba_is_composited_on_white(tmp_path):
    rgb = _pattern()
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:10] = 0
    alpha[10:20] = 128
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(path)
    image = read_image(path)
    assert (image[:10] == 255).all()
    np.testing.assert_array_equal(image[20:], rgb[20:])
    half = rgb[10:20].astype(np.float32) * (128 / 255) + 255 * (127 / 255)
    assert np.abs(image[10:20].astype(np.float32) - half).max() <= 1


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_is_scaled_to_8_bit(tmp_path, suffix):
    rgb8 = _pattern()
    # 257 * v maps 0..255 onto 0..65535 exactly; + 100 checks rounding (still within half a step).
    rgb16 = rgb8.astype(np.uint16) * 257 + np.where(rgb8 < 255, 100, 0).astype(np.uint16)
    path = tmp_path / f"deep{suffix}"
    cv2.imwrite(str(path), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16  # really 16-bit
    image = read_image(path)
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image, rgb8)


def test_16_bit_grey_png(tmp_path):
    grey16 = (np.arange(20 * 30).reshape(20, 30) * 100).astype(np.uint16)
    path = tmp_path / "grey16.png"
    cv2.imwrite(str(path), grey16)
    image = read_image(path)
    expected = np.round(grey16 / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(image[..., 1], expected)
    assert image[-1, -1, 0] > 200  # not truncated to the low byte


def test_cmyk_jpeg_gives_the_right_colours(tmp_path):
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :20] = (255, 0, 0)
    rgb[:, 20:40] = (0, 255, 0)
    rgb[:, 40:] = (0, 0, 255)
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    image = read_image(path)
    assert image.shape == (40, 60, 3)
    for x, colour in [(10, (255, 0, 0)), (30, (0, 255, 0)), (50, (0, 0, 255))]:
        assert np.abs(image[20, x].astype(int) - colour).max() <= 8, (x, image[20, x])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(_pattern()).save(path, exif=exif)
    with Image.open(path) as img:
        expected = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    np.testing.assert_array_equal(read_image(path), expected)


def test_exif_rotated_jpeg_comes_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways, shown rotated 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    Image.fromarray(_pattern(40, 60)).save(path, exif=exif, quality=95)
    image = read_image(path)
    assert image.shape == (60, 40, 3)
    # The blue block, top-left when stored, is top-right once upright.
    assert image[:8, -6:, 2].mean() > 200 and image[:8, :6, 2].mean() < 60


def test_gif_is_read_through_pillow(tmp_path):
    path = tmp_path / "anim.gif"
    Image.fromarray(_pattern()).save(path)
    image = read_image(path)
    assert image.shape == (40, 60, 3) and image.dtype == np.uint8


# --- real photos ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["stargan-v2_006930.jpg", "insightface_gray_112.png", "face_recognition_obama.jpg", "deepface_img12.jpg"],
)
def test_real_photos_match_pillow(photos_dir, name):
    path = photos_dir / name
    image = read_image(path)
    with Image.open(path) as img:
        expected = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    assert image.shape == expected.shape and image.dtype == np.uint8
    # Two JPEG decoders may round differently, never by much.
    assert np.abs(image.astype(int) - expected).mean() < 1.0


# --- writing ----------------------------------------------------------------------------------
def test_png_round_trip_is_exact_and_creates_folders(tmp_path):
    rgb = _pattern()
    target = tmp_path / "a" / "b" / "out.png"
    assert write_image(target, rgb) == target
    np.testing.assert_array_equal(read_image(target), rgb)
    assert [p.name for p in target.parent.iterdir()] == ["out.png"]  # no temporary file left


def test_jpeg_write_is_close(tmp_path):
    rgb = _pattern()
    target = write_image(tmp_path / "out.jpg", rgb)
    assert target.read_bytes()[:2] == b"\xff\xd8"
    assert np.abs(read_image(target).astype(int) - rgb).mean() < 3


def test_grey_array_is_written(tmp_path):
    grey = _pattern()[..., 1]
    target = write_image(tmp_path / "mask.png", grey)
    np.testing.assert_array_equal(read_image(target)[..., 0], grey)


def test_existing_output_needs_overwrite(tmp_path):
    target = tmp_path / "out.png"
    write_image(target, _pattern())
    before = target.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_image(target, np.zeros((40, 60, 3), np.uint8))
    assert target.read_bytes() == before
    write_image(target, np.zeros((40, 60, 3), np.uint8), overwrite=True)
    assert (read_image(target) == 0).all()


def test_written_file_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = write_image(tmp_path / "out.png", _pattern())
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_unknown_suffix_and_bad_arrays_are_refused(tmp_path):
    with pytest.raises(InputError, match="unsupported image type"):
        write_image(tmp_path / "out.xyz", _pattern())
    with pytest.raises(ValueError):
        write_image(tmp_path / "out.png", _pattern().astype(np.float32))
    assert list(tmp_path.iterdir()) == []


# --- folders ----------------------------------------------------------------------------------
def test_iter_inputs_expands_folders_sorted_with_relative_paths(tmp_path):
    root = tmp_path / "in"
    for rel in [
        "b.png",
        "a.JPG",
        "sub/c.jpeg",
        "sub/deeper/d.webp",
        "notes.txt",
        ".hidden.png",
        ".git/x.png",
    ]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    single = tmp_path / "single.txt"
    single.write_text("a file given directly is kept, whatever its suffix")
    items = iter_inputs([root, single])
    rel = [str(r) for _, r in items]
    assert rel == ["a.JPG", "b.png", "sub/c.jpeg", "sub/deeper/d.webp", "single.txt"]
    assert all(p.is_file() for p, _ in items)
    assert items[2][0] == root / "sub" / "c.jpeg"
    videos = iter_inputs([root], VIDEO_EXTENSIONS)
    assert videos == []
    assert ".mp4" in VIDEO_EXTENSIONS and ".png" in IMAGE_EXTENSIONS


def test_iter_inputs_keeps_missing_paths_for_reporting(tmp_path):
    missing = tmp_path / "nope.jpg"
    assert iter_inputs([missing]) == [(missing, missing.relative_to(tmp_path))]
