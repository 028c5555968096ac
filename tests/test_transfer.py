"""Mouth motion transfer on real faces: no motion changes nothing, an opening driver opens the
target in step, the rest of the face stays, the driver's audio is kept."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsynth.geometry import mouth_open
from mouthsynth.inference.synthesizer import MouthSynthesizer
from mouthsynth.io.images import read_image, write_image
from mouthsynth.io.video import VideoReader, video_info
from mouthsynth.transfer.motion import ANCHORS
from mouthsynth.transfer.pipeline import transfer
from mouthsynth.transfer.warp import warp_region

DRIVER = "liveportrait_d18.mp4"  # closed for ~2 s, then opens wide; has audio
TARGET = "stargan-v2_005735.jpg"  # a closed mouth


@pytest.fixture(scope="module")
def synth():
    return MouthSynthesizer()


@pytest.fixture(scope="module")
def driver_stills(tmp_path_factory, videos_dir):
    """The driver's closed (frame 0) and wide-open (frame 72) mouths as PNGs."""
    folder = tmp_path_factory.mktemp("stills")
    with VideoReader(videos_dir / DRIVER) as reader:
        frames = [f for i, f in zip(range(73), reader, strict=False)]
    write_image(folder / "closed.png", frames[0])
    write_image(folder / "open.png", frames[72])
    return folder / "closed.png", folder / "open.png"


def test_no_motion_changes_nothing(synth, driver_stills, photos_dir, tmp_path):
    closed, _ = driver_stills
    out = tmp_path / "same.png"
    transfer(closed, photos_dir / TARGET, out, synth, driver_neutral=closed, progress=False)
    assert np.array_equal(read_image(out), read_image(photos_dir / TARGET))


def test_an_open_driver_opens_the_target_and_only_the_lower_face_moves(
    synth, driver_stills, photos_dir, tmp_path
):
    closed, opened = driver_stills
    out = tmp_path / "open.png"
    stats = transfer(opened, photos_dir / TARGET, out, synth, driver_neutral=closed, progress=False)
    assert stats.synthesised == 1
    target = read_image(photos_dir / TARGET)
    result = read_image(out)
    (before,) = synth.landmarks.detect(target)
    (after,) = synth.landmarks.detect(result)
    assert mouth_open(before.inner_lip) < 0.05 < 0.25 < mouth_open(after.inner_lip)
    changed = np.any(result != target, axis=-1)
    x0, y0, x1, y1 = warp_region(before.points, target.shape[:2])
    # Everything outside the lower-face region, eyes and forehead included, is bit-identical.
    outside = np.ones_like(changed)
    outside[y0 : y1 + 40, max(0, x0 - 40) : x1 + 40] = False
    assert not changed[outside].any()
    eyes_y = int(before.points[ANCHORS[:4], 1].max()) + 5
    assert not changed[:eyes_y].any()


def test_a_driver_video_drives_the_target_in_step_with_its_audio(synth, videos_dir, photos_dir, tmp_path):
    out = tmp_path / "driven.mp4"
    stats = transfer(videos_dir / DRIVER, photos_dir / TARGET, out, synth, progress=False, max_frames=90)
    assert stats.frames == 90
    info = video_info(out, count_frames=True)
    source = video_info(videos_dir / DRIVER)
    assert info["frames"] == 90 and info["fps"] == source["fps"]
    assert info["has_audio"] and info["audio_codec"] == source["audio_codec"]
    # The target's measured mouth opening follows the driver's.
    measured = []
    with VideoReader(out) as reader:
        for frame in reader:
            faces = synth.landmarks.detect(frame)
            measured.append(mouth_open(faces[0].inner_lip) if faces else np.nan)
    driver = np.array(stats.driver_mouth_open)
    measured = np.array(measured)
    ok = ~np.isnan(measured)
    assert ok.mean() > 0.9
    assert driver.max() > 0.5  # the driver really opens
    assert np.corrcoef(driver[ok], measured[ok])[0, 1] > 0.8


def test_no_face_in_driver_or_target_names_which(synth, photos_dir, tmp_path):
    from mouthsynth.errors import NoFaceError

    cat = photos_dir / "liveportrait_s41.jpg"
    with pytest.raises(NoFaceError, match="target"):
        transfer(photos_dir / TARGET, cat, tmp_path / "a.png", synth, progress=False)
    with pytest.raises(NoFaceError, match="driver"):
        transfer(cat, photos_dir / TARGET, tmp_path / "b.png", synth, progress=False)
