"""`mouthsynth transfer`: a driver's mouth motion moves a target face's mouth, and the generator
paints the new interior.

First the driver's landmarks over the whole clip, its neutral mouth (estimated from its most
closed frames unless given) and its motion against it, normalised for face size, position and
head pose (neutral.py). Then per frame: the driver's jaw angle and lip motion applied to the
target (motion.py, jaw.py), its lips keeping their own width and thickness (lips.py); with
``target_mouth="replace"`` the target's own open mouth painted over (interior.py); the target's
lower face warped so its lips and jaw take the new shape (warp.py); the new interior synthesised
and composited (MouthSynthesizer.fill_faces).

The target's own mouth motion is replaced by the driver's (``target_mouth="replace"``, as
dubbing needs): a video target's landmarks over the clip give its own neutral mouth, estimated
the same way as the driver's (a photo's neutral is its own mouth, lips closed if open); every
target frame's mouth is brought to that neutral, posed as the frame's head is (an affine fit on
the points that do not move with the mouth), and the driver's motion applied to it. The head
motion stays the target's. With ``target_mouth="add"`` the driver's motion is added to whatever
the target's mouth does (or holds open) in each frame. Measured by
benchmarks/transfer_follow.py: on a speaking video target adding followed an unseen driver at
r 0.70, the target's own wide openings showing through, replacing at r 0.94; on open-mouthed
photos adding inflated the amplitude to 1.2-1.5x the driver's, replacing gives 0.75-0.94x.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from mouthsynth.errors import InputError, NoFaceError
from mouthsynth.geometry import mouth_open
from mouthsynth.io.images import is_video
from mouthsynth.transfer.interior import close_interior
from mouthsynth.transfer.lips import shape_lips
from mouthsynth.transfer.motion import MotionTransfer, landmarks_from_points
from mouthsynth.transfer.neutral import (
    NEUTRAL_MAX_OPEN,
    align,
    build_driver_motion,
    canonical,
    estimate_neutral,
)
from mouthsynth.transfer.warp import warp_lower_face

TARGET_MOUTH = ("replace", "add")


@dataclass
class TransferStats:
    frames: int = 0
    synthesised: int = 0
    driver_lost: int = 0
    target_lost: int = 0
    seconds: float = 0.0
    # Per output frame (nan where there is no face): the mouth opening the target was given,
    # and the driver's, measured on its landmarks.
    target_mouth_open: list[float] = field(default_factory=list)
    driver_mouth_open: list[float] = field(default_factory=list)
    neutral: str = ""  # which driver neutral was used, one line
    target_neutral: str = ""  # a video target's neutral (target_mouth="replace"), one line


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


def parse_neutral(value: str | Path | int | None) -> Path | int | None:
    """``--driver-neutral``: None/"auto" (estimate), a frame index ("12"), or an image path."""
    if value is None or isinstance(value, (int, Path)):
        return value
    text = str(value).strip()
    if text in ("", "auto"):
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    return Path(text)


@dataclass
class DriverTrack:
    """A clip's landmarks (image px, None where no face) and mouth opening (nan) per frame
    (the driver's, or a video target's)."""

    points: list[np.ndarray | None]
    openings: list[float]
    video: bool
    fps: Fraction
    has_audio: bool


def track_landmarks(
    path: Path, backend, role: str = "driver", limit: int | None = None, progress: bool = False
) -> DriverTrack:
    """Landmarks of the main face of ``path`` over its first ``limit`` frames (all if None);
    the first frame must hold a face."""
    from tqdm import tqdm

    src = _Source(path)
    track = _Tracker(backend, path, role)
    result = DriverTrack([], [], src.video, src.fps, src.has_audio)
    total = src.frame_count if limit is None else min(src.frame_count or limit, limit)
    bar = tqdm(total=total or None, unit="frame", desc=role, disable=not progress, dynamic_ncols=True)
    try:
        for frame in src.frames():
            if limit is not None and len(result.points) >= limit:
                break
            face = track(frame, required=not result.points)
            if face is not None and len(face.points) < 468:
                raise InputError(path, "mouth motion transfer needs the MediaPipe landmark backend")
            result.points.append(None if face is None else face.points)
            result.openings.append(float("nan") if face is None else mouth_open(face.inner_lip))
            bar.update(1)
    finally:
        bar.close()
        src.close()
    if not result.points:
        raise InputError(path, "no frames")
    return result


def driver_landmarks(driver: Path, backend, limit: int | None = None, progress: bool = False) -> DriverTrack:
    return track_landmarks(driver, backend, "driver", limit, progress)


def transfer(
    driver: Path,
    target: Path,
    out: Path,
    synth,
    strength: float = 1.0,
    keep_audio: str = "driver",
    driver_neutral: Path | int | str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    max_frames: int | None = None,
    log=None,
    target_mouth: str = "replace",
) -> TransferStats:
    """Write ``out``: an image when driver and target are both images, else a video at the
    driver's frame rate (image target) or the target's (video target), as long as the shorter.

    ``driver_neutral``: the driver's neutral mouth: None (estimated from the whole driver, its
    most closed frames), a driver frame index, or an image of the driver. ``log`` (a callable
    taking one line) hears which neutral was used; ``stats.neutral`` keeps it too.

    ``target_mouth``: "replace" (the target's own mouth motion gives way to the driver's: each
    frame's mouth is brought to the target's neutral, for a video estimated from its most closed
    frames, for a photo its own mouth with the lips closed if open, before the driver's motion
    is applied) or "add" (the driver's motion is added to each frame's own mouth). A video
    target's head motion is kept either way."""
    from tqdm import tqdm

    from mouthsynth.errors import OutputExistsError

    if keep_audio not in ("driver", "target", "none"):
        raise InputError(out, f"--keep-audio must be driver, target or none, not {keep_audio!r}")
    if target_mouth not in TARGET_MOUTH:
        raise InputError(out, f"--target-mouth must be replace or add, not {target_mouth!r}")
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    driver_neutral = parse_neutral(driver_neutral)
    start = time.perf_counter()
    stats = TransferStats()
    backend = synth.landmarks
    tgt = _Source(target)
    try:
        tgt_track = _Tracker(backend, target, "target")
        tgt_frames = tgt.frames()
        first_target = next(tgt_frames, None)
        if first_target is None:
            raise InputError(target, "no frames")
        target_face = tgt_track(first_target, required=True)
        if len(target_face.points) < 468:
            raise InputError(target, "mouth motion transfer needs the MediaPipe landmark backend")
        if is_video(driver) and tgt.video:
            limit = tgt.frame_count or None
        else:
            limit = None
        if max_frames is not None:
            limit = max_frames if limit is None else min(limit, max_frames)
        # Pass 1: the driver's landmarks over the clip, its neutral, its motion.
        drv = driver_landmarks(driver, backend, limit, progress)
        drv_points, drv_open, drv_is_video = drv.points, drv.openings, drv.video
        if isinstance(driver_neutral, int):
            index = driver_neutral if driver_neutral >= 0 else len(drv_points) + driver_neutral
            if not 0 <= index < len(drv_points) or drv_points[index] is None:
                raise InputError(driver, f"--driver-neutral {driver_neutral}: no driver face in that frame")
            motion_track = build_driver_motion(drv_points, drv_points[index], f"driver frame {index}")
        elif driver_neutral is not None:
            from mouthsynth.io.images import read_image

            neutral = _Tracker(backend, driver_neutral, "driver's neutral image")(
                read_image(driver_neutral), True
            )
            motion_track = build_driver_motion(drv_points, neutral.points, f"image {driver_neutral}")
        else:
            motion_track = build_driver_motion(drv_points)
        stats.neutral = f"driver neutral mouth: {motion_track.source}"
        if log is not None:
            log(stats.neutral)

        writer = None
        if drv_is_video or tgt.video:
            fps = tgt.fps if tgt.video else drv.fps
            audio = {
                "driver": driver if drv.has_audio else None,
                "target": target if tgt.has_audio else None,
            }.get(keep_audio)
            h, w = first_target.shape[:2]
            writer = synth.video_writer(out, fps, w, h, audio_from=audio, overwrite=overwrite)
        if drv_is_video and tgt.video:
            total = min(len(drv_points), tgt.frame_count or len(drv_points))
        else:
            total = len(drv_points) if drv_is_video else tgt.frame_count
        if max_frames is not None:
            total = min(total, max_frames)
        # The target's own landmarks and neutral mouth, when its mouth motion is replaced: a
        # photo's mouth, if open, is closed (its own opening would add to the driver's).
        tgt_points, tgt_neutral = None, None
        if target_mouth == "replace":
            if tgt.video:
                tgt_points = track_landmarks(target, backend, "target", total or None, progress).points
            else:
                tgt_points = [target_face.points]
            tgt_neutral, text = estimate_neutral([None if p is None else canonical(p) for p in tgt_points])
            if tgt.video:
                stats.target_neutral = "target neutral mouth: " + text.replace("driver", "target")
            elif (opening := mouth_open(target_face.inner_lip)) > NEUTRAL_MAX_OPEN:
                # A photo with its mouth open (a closed one is used as it is).
                stats.target_neutral = f"target neutral mouth: the photo's, lips closed (open {opening:.2f})"
            if log is not None and stats.target_neutral:
                log(stats.target_neutral)
        bar = tqdm(total=total or None, unit="frame", disable=not progress, dynamic_ncols=True)

        def driver_iter():
            # An image driver is one expression, held over the whole target video.
            for i in itertools.count():
                if i >= len(drv_points) and (drv_is_video or not tgt.video):
                    return
                j = min(i, len(drv_points) - 1)
                yield drv_points[j], drv_open[j], motion_track.frames[j]

        def target_iter():
            yield first_target
            if tgt.video:
                yield from tgt_frames
            else:
                while True:
                    yield first_target

        result_image = None
        motion = None
        try:
            for (raw, opening_d, aligned), target_frame in zip(driver_iter(), target_iter(), strict=False):
                if max_frames is not None and stats.frames >= max_frames:
                    break
                if tgt_points is not None:
                    # This frame's face, its mouth at the target's neutral (posed as its head).
                    i = stats.frames if tgt.video else 0
                    points = tgt_points[i] if i < len(tgt_points) else None
                    if points is None:
                        _emit_target_lost(writer, target_frame, stats, bar, opening_d)
                        continue
                    source = points
                    if motion is None or tgt.video:
                        motion = MotionTransfer(motion_track.neutral, align(tgt_neutral, points), strength)
                else:
                    if tgt.video and stats.frames > 0:
                        found = tgt_track(target_frame)
                        if found is None:
                            _emit_target_lost(writer, target_frame, stats, bar, opening_d)
                            continue
                        if found is not target_face:
                            target_face, motion = found, None
                    if motion is None:
                        motion = MotionTransfer(motion_track.neutral, target_face.points, strength)
                    source = target_face.points
                stats.driver_mouth_open.append(opening_d)
                if raw is None:
                    stats.driver_lost += 1
                if aligned is None:  # no driver face (and no bridge): no motion
                    stats.target_mouth_open.append(float("nan"))
                    result_image = target_frame
                else:
                    # The target's lips keep their width and thickness (lips.py).
                    moved = shape_lips(source, motion.target_points(aligned))
                    frame = target_frame
                    if tgt_points is not None:  # its own open mouth gives way (interior.py)
                        frame = close_interior(frame, source)
                    warped = warp_lower_face(frame, source, moved, motion.moving)
                    face = landmarks_from_points(moved)
                    opening = mouth_open(face.inner_lip)
                    stats.target_mouth_open.append(opening)
                    result_image = warped
                    if opening >= synth.cfg.geometry.min_open:
                        # Under the new inner lip lie the target's own lips, warped, not an old
                        # interior to hide: the centred feather keeps their soft inner edge
                        # (benchmarks/transfer_follow.py, wide-O pair: r 0.90, amplitude 0.80;
                        # outward feather: 0.87, 0.79).
                        result_image = synth.fill_faces(
                            warped, [face], force=True, feather_outward=False
                        ).image
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
        tgt.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _emit_target_lost(writer, frame: np.ndarray, stats: TransferStats, bar, driver_open: float) -> None:
    """A frame without the target's face: written as it is, its opening unknown."""
    stats.target_lost += 1
    stats.driver_mouth_open.append(driver_open)
    stats.target_mouth_open.append(float("nan"))
    _emit(writer, frame, stats, bar)


def _emit(writer, image: np.ndarray, stats: TransferStats, bar) -> None:
    if writer is not None:
        writer.write(image)
    stats.frames += 1
    bar.update(1)
