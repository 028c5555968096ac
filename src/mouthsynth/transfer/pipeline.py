"""`mouthsynth transfer`: a driver's mouth motion moves a target face's mouth, and the generator
paints the new interior.

Per driver frame: the driver's landmarks, relative to its neutral mouth, normalised for face
size, position and head roll (motion.py); the target's lower face warped so its lips take the new
shape (warp.py); the new interior synthesised and composited (MouthSynthesizer.fill_faces).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from mouthsynth.errors import InputError, NoFaceError
from mouthsynth.geometry import mouth_open
from mouthsynth.transfer.motion import MotionTransfer, landmarks_from_points
from mouthsynth.transfer.warp import warp_lower_face

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass
class TransferStats:
    frames: int = 0
    synthesised: int = 0
    driver_lost: int = 0
    target_lost: int = 0
    seconds: float = 0.0
    target_mouth_open: list[float] = field(default_factory=list)
    driver_mouth_open: list[float] = field(default_factory=list)


class _Source:
    """Frames of an image (one frame, repeated on demand) or a video (streamed)."""

    def __init__(self, path: Path):
        self.path = path
        self.video = is_video(path)
        if self.video:
            from mouthsynth.io.video import VideoReader

            self.reader = VideoReader(path)
            self.fps = self.reader.fps
            self.frame_count = self.reader.frame_count
            self.has_audio = self.reader.has_audio
        else:
            from mouthsynth.io.images import read_image

            self.image = read_image(path)
            self.fps = Fraction(25)
            self.frame_count = 1
            self.has_audio = False

    def frames(self) -> Iterator[np.ndarray]:
        if self.video:
            yield from self.reader
        else:
            yield self.image

    def close(self) -> None:
        if self.video:
            self.reader.close()


class _Tracker:
    """Landmarks of the main (largest) face across frames, detector only when tracking fails."""

    def __init__(self, backend, path: Path, role: str):
        self.backend, self.path, self.role = backend, path, role
        self.box = None

    def __call__(self, frame: np.ndarray, required: bool = False):
        faces = self.backend.detect(frame, [self.box]) if self.box is not None else []
        if not faces:
            faces = self.backend.detect(frame)
        if not faces:
            self.box = None
            if required:
                raise NoFaceError(self.path, f"in the {self.role}")
            return None
        self.box = faces[0].face_box
        return faces[0]


def transfer(
    driver: Path,
    target: Path,
    out: Path,
    synth,
    strength: float = 1.0,
    keep_audio: str = "driver",
    driver_neutral: Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    max_frames: int | None = None,
) -> TransferStats:
    """Write ``out``: an image when driver and target are both images, else a video at the
    driver's frame rate (image target) or the target's (video target), as long as the shorter."""
    from tqdm import tqdm

    from mouthsynth.errors import OutputExistsError

    if keep_audio not in ("driver", "target", "none"):
        raise InputError(out, f"--keep-audio must be driver, target or none, not {keep_audio!r}")
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    start = time.perf_counter()
    stats = TransferStats()
    backend = synth.landmarks
    drv, tgt = _Source(driver), _Source(target)
    try:
        drv_track, tgt_track = _Tracker(backend, driver, "driver"), _Tracker(backend, target, "target")
        drv_frames, tgt_frames = drv.frames(), tgt.frames()
        first_driver = next(drv_frames, None)
        first_target = next(tgt_frames, None)
        if first_driver is None or first_target is None:
            raise InputError(driver if first_driver is None else target, "no frames")
        if driver_neutral is not None:
            from mouthsynth.io.images import read_image

            neutral = _Tracker(backend, driver_neutral, "driver's neutral image")(
                read_image(driver_neutral), True
            )
        else:
            neutral = drv_track(first_driver, required=True)
        target_face = tgt_track(first_target, required=True)
        if len(neutral.points) < 468:
            raise InputError(driver, "mouth motion transfer needs the MediaPipe landmark backend")

        writer = None
        if drv.video or tgt.video:
            fps = tgt.fps if tgt.video else drv.fps
            audio = {
                "driver": driver if drv.has_audio else None,
                "target": target if tgt.has_audio else None,
            }.get(keep_audio)
            h, w = first_target.shape[:2]
            writer = synth.video_writer(out, fps, w, h, audio_from=audio, overwrite=overwrite)
        if drv.video and tgt.video:
            total = min(drv.frame_count, tgt.frame_count)
        else:
            total = drv.frame_count if drv.video else tgt.frame_count
        if max_frames is not None:
            total = min(total, max_frames)
        bar = tqdm(total=total or None, unit="frame", disable=not progress, dynamic_ncols=True)

        def driver_iter():
            yield first_driver
            if drv.video:
                yield from drv_frames
            elif tgt.video:  # one driver expression held over the whole target video
                while True:
                    yield first_driver

        def target_iter():
            yield first_target
            if tgt.video:
                yield from tgt_frames
            else:
                while True:
                    yield first_target

        result_image = None
        try:
            for driver_frame, target_frame in zip(driver_iter(), target_iter(), strict=False):
                if max_frames is not None and stats.frames >= max_frames:
                    break
                if tgt.video and stats.frames > 0:
                    found = tgt_track(target_frame)
                    if found is None:
                        stats.target_lost += 1
                        result_image = target_frame
                        _emit(writer, result_image, stats, bar)
                        continue
                    target_face = found
                motion = MotionTransfer(neutral.points, target_face.points, strength)
                first = stats.frames == 0 and driver_neutral is None
                driver_face = neutral if first else drv_track(driver_frame)
                if driver_face is None:
                    stats.driver_lost += 1
                    result_image = target_frame  # no driver face: no motion
                else:
                    moved = motion.target_points(driver_face.points)
                    warped = warp_lower_face(target_frame, target_face.points, moved)
                    face = landmarks_from_points(moved)
                    opening = mouth_open(face.inner_lip)
                    stats.driver_mouth_open.append(mouth_open(driver_face.inner_lip))
                    stats.target_mouth_open.append(opening)
                    result_image = warped
                    if opening >= synth.cfg.geometry.min_open:
                        result_image = synth.fill_faces(warped, [face], force=True).image
                        stats.synthesised += 1
                _emit(writer, result_image, stats, bar)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        bar.close()
        if writer is not None:
            writer.close()
        else:
            from mouthsynth.io.images import write_image

            write_image(out, result_image, overwrite=overwrite)
    finally:
        drv.close()
        tgt.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _emit(writer, image: np.ndarray, stats: TransferStats, bar) -> None:
    if writer is not None:
        writer.write(image)
    stats.frames += 1
    bar.update(1)
