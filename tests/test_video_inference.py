"""Video inference: a real clip round-trips with its frame count, fps, size and audio packets;
frames without a face pass through; the tracker skips the face detector between re-detections
and its open/closed hysteresis does not flicker."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mouthsynth.config import Config
from mouthsynth.geometry import mouth_open
from mouthsynth.inference.synthesizer import FaceTracker, MouthSynthesizer
from mouthsynth.io.video import VideoReader, VideoWriter, video_info
from mouthsynth.landmarks import FaceLandmarks

# 62 frames at 29.97 fps, 512 px, one talking face, AAC audio.
CLIP = "V-Express_RD_Radio10_0_clip_0.mp4"
SIZE = 64


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    """An untrained width-0.25 generator exported to ONNX (64-px crops)."""
    import torch

    from mouthsynth.export.onnx_export import export_onnx
    from mouthsynth.nets.generator import MobileNetUNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny_video_model") / "tiny.onnx"
    export_onnx(MobileNetUNet(width=0.25), path, SIZE, {"mouthsynth.crop_size": str(SIZE)})
    return path


def test_video_round_trip_keeps_frames_fps_size_and_audio(tiny_onnx, videos_dir, tmp_path):
    source = videos_dir / CLIP
    out = tmp_path / "out.mp4"
    stats = MouthSynthesizer(tiny_onnx).process_video(source, out, progress=False)
    before, after = video_info(source, count_frames=True), video_info(out, count_frames=True)
    assert after["frames"] == before["frames"] == stats["frames"]
    assert after["fps"] == before["fps"]
    assert (after["width"], after["height"]) == (before["width"], before["height"])
    assert after["has_audio"] and after["audio_sha256"] == before["audio_sha256"]
    assert after["audio_packets"] == before["audio_packets"]
    assert stats["synthesised"] > 0
    assert stats["synthesised"] + stats["closed"] + stats["no_face"] == stats["frames"]


def test_frames_without_a_face_pass_through(tiny_onnx, tmp_path):
    source = tmp_path / "noface.mp4"
    rng = np.random.default_rng(0)
    # Smooth pictures, so that re-encoding them changes little.
    frames = [
        cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (0, 0), 4) for _ in range(6)
    ]
    with VideoWriter(source, 25, 128, 96) as writer:
        for frame in frames:
            writer.write(frame)
    out = tmp_path / "out.mp4"
    stats = MouthSynthesizer(tiny_onnx).process_video(source, out, progress=False)
    assert stats["frames"] == 6 and stats["no_face"] == 6 and stats["synthesised"] == 0
    with VideoReader(source) as a, VideoReader(out) as b:
        for x, y in zip(a, b, strict=True):
            # Only the re-encoding differs: nothing was painted.
            assert np.abs(x.astype(int) - y).mean() < 2


def test_video_command_refuses_to_overwrite(tiny_onnx, videos_dir, tmp_path):
    from mouthsynth.cli.video import command

    app = typer.Typer()
    app.command()(command)
    target = tmp_path / "exists.mp4"
    target.write_bytes(b"keep me")
    result = CliRunner().invoke(app, [str(videos_dir / CLIP), "-o", str(target), "--model", str(tiny_onnx)])
    assert result.exit_code == 1 and "exists.mp4: output exists" in result.output
    assert target.read_bytes() == b"keep me"


# --- the tracker, on scripted landmarks ---------------------------------------------------------


def _lips(open_ratio: float, cx: float = 200.0, cy: float = 220.0, width: float = 60.0) -> FaceLandmarks:
    """A face whose inner lips are an ellipse of this height/width: mouth_open == open_ratio."""
    angles = np.pi * np.arange(20) / 10  # point i and 20 - i face each other
    inner = np.stack([cx - width / 2 * np.cos(angles), cy - width * open_ratio / 2 * np.sin(angles)], 1)
    outer = np.stack([cx - 0.65 * width * np.cos(angles), cy - 0.4 * width * np.sin(angles)], 1)
    box = (cx - 80.0, cy - 160.0, cx + 80.0, cy + 40.0)
    return FaceLandmarks(inner.astype(np.float32), outer.astype(np.float32), box, outer, "scripted")


class ScriptedBackend:
    """Plays back a list of faces per frame and records whether the detector was asked to run."""

    name = "scripted"

    def __init__(self, script: list[list[FaceLandmarks]]):
        self.script = iter(script)
        self.full_detections = 0
        self.calls = 0
        self._current: list[FaceLandmarks] = []

    def detect(self, image, face_boxes=None):
        if face_boxes is None:
            self.full_detections += 1
        self.calls += 1
        return self._current

    def advance(self) -> None:
        self._current = next(self.script)


def _record_boxes(backend: ScriptedBackend) -> list[int | None]:
    """Per mesh call of ``backend``: how many boxes it was given (None: the full detector)."""
    seen: list[int | None] = []
    detect = backend.detect

    def recording_detect(image, face_boxes=None):
        seen.append(None if face_boxes is None else len(face_boxes))
        return detect(image, face_boxes)

    backend.detect = recording_detect
    return seen


def _run(script: list[list[FaceLandmarks]], cfg: Config | None = None) -> tuple[list[bool], ScriptedBackend]:
    cfg = cfg or Config()
    tracker, backend = FaceTracker(cfg), ScriptedBackend(script)
    frame = np.zeros((8, 8, 3), np.uint8)
    decisions = []
    for index in range(len(script)):
        backend.advance()
        faces = tracker.update(backend, frame, index / 25.0)
        decisions.append(bool(faces and faces[0][1]))
    return decisions, backend


def test_open_closed_hysteresis_does_not_flicker():
    threshold = Config().geometry.min_open
    # Wide open, then hovering just around the threshold, then clearly closed for a while.
    hover = [threshold * (1.1 if i % 2 else 0.9) for i in range(40)]
    ratios = [0.3] * 10 + hover + [0.0] * 25
    assert mouth_open(_lips(threshold * 1.1).inner_lip) == pytest.approx(threshold * 1.1, rel=1e-3)
    decisions, _ = _run([[_lips(r)] for r in ratios])
    raw = [r >= threshold for r in ratios]
    flips = sum(a != b for a, b in zip(decisions, decisions[1:], strict=False))
    raw_flips = sum(a != b for a, b in zip(raw, raw[1:], strict=False))
    assert raw_flips > 30  # the raw threshold would switch the mask on and off every frame
    assert flips == 1  # open while hovering, closed once the mouth really shuts
    assert decisions[:50] == [True] * 50 and decisions[-1] is False
    # A mouth that starts just above the threshold is not yet taken as open.
    decisions, _ = _run([[_lips(threshold * 1.05)] for _ in range(5)])
    assert decisions == [False] * 5


def test_tracker_runs_the_face_detector_only_to_re_detect():
    n = FaceTracker.REDETECT_EVERY + 5
    script = [[_lips(0.3)] for _ in range(n)]
    script[40] = []  # the face is lost for one frame: detect again at once
    proposals = []

    def propose(frame):
        proposals.append(tracker.frame)
        return [(500.0, 500.0, 600.0, 600.0)]  # a second face the quick pass found

    cfg = Config()
    cfg.inference.video_full_detect_s = 5.0  # the full detector also on a schedule
    cfg.inference.video_threads = False  # the quick pass in the loop (see the next test)
    tracker, backend = FaceTracker(cfg, propose=propose), ScriptedBackend(script)
    seen_boxes = _record_boxes(backend)
    frame = np.zeros((8, 8, 3), np.uint8)
    for index in range(n):
        backend.advance()
        tracker.update(backend, frame, index / 25.0)
    # The quick pass finds the face to start (frame 0) and after a loss (41); at frame 40 the
    # face is gone, so the quick pass finds nothing and the full detector runs; 150 is the
    # scheduled full detection. Quick passes every 30 frames in between, their new box meshed too.
    assert backend.full_detections == 2
    assert proposals == [0, 30, 40, 41, 60, 90, 120]
    assert seen_boxes[0] == 1 and seen_boxes[30] == 2 and seen_boxes[31] == 1
    assert seen_boxes[40:43] == [1, 1, None]  # tracked box, quick box, then the full detector


def test_background_quick_pass_meshes_its_boxes_on_a_later_frame():
    """With video_threads the periodic quick pass runs in its own thread: the frame it looks at
    is meshed on the tracked box alone, and its new box is meshed once it has finished."""
    import threading

    release, started = threading.Event(), threading.Event()
    looked_at = []

    def slow_propose(frame):
        looked_at.append(int(frame[0, 0, 0]))
        started.set()
        release.wait(5)
        return [(500.0, 500.0, 600.0, 600.0)]

    cfg = Config()
    assert cfg.inference.video_threads
    script = [[_lips(0.3)] for _ in range(40)]
    tracker, backend = FaceTracker(cfg, propose=slow_propose), ScriptedBackend(script)
    seen = _record_boxes(backend)
    quick_at_start = lambda frame: [(0.0, 0.0, 8.0, 8.0)]  # noqa: E731 - the start's own pass
    tracker._propose = quick_at_start
    for index in range(33):
        if index == 1:
            tracker._propose = slow_propose
        backend.advance()
        frame = np.full((8, 8, 3), index, np.uint8)
        tracker.update(backend, frame, index / 25.0)
    # The detection thread is shared by the process and may still finish another video's pass
    # first: wait for this one to start (it then blocks until released), not for a fixed time.
    assert started.wait(5)
    assert looked_at == [30]  # submitted at frame 30, still running
    assert seen[30:33] == [1, 1, 1]  # the loop did not wait for it
    release.set()
    tracker._pending.result(timeout=5)
    backend.advance()
    tracker.update(backend, np.zeros((8, 8, 3), np.uint8), 33 / 25.0)
    assert seen[-1] == 2  # its new box is meshed on the next frame


def test_video_encoder_settings_come_from_the_config(tiny_onnx, tmp_path):
    """`--set inference.video_preset=...` reaches the encoder: a higher CRF gives a smaller file;
    an unknown preset is refused before anything is written."""
    from mouthsynth.cli.video import command

    app = typer.Typer()
    app.command()(command)
    source = tmp_path / "in.mp4"
    rng = np.random.default_rng(1)
    with VideoWriter(source, 25, 128, 96) as writer:
        for _ in range(8):
            writer.write(cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (0, 0), 2))
    sizes = {}
    for crf in (10, 40):
        out = tmp_path / f"crf{crf}.mp4"
        args = [str(source), "-o", str(out), "--model", str(tiny_onnx), "--set", f"inference.video_crf={crf}"]
        result = CliRunner().invoke(app, [*args, "--set", "inference.video_preset=ultrafast"])
        assert result.exit_code == 0, result.output
        sizes[crf] = out.stat().st_size
    assert sizes[40] < sizes[10]
    bad = tmp_path / "bad.mp4"
    result = CliRunner().invoke(
        app, [str(source), "-o", str(bad), "--model", str(tiny_onnx), "--set", "inference.video_preset=warp"]
    )
    assert result.exit_code == 1 and "video_preset" in result.output and not bad.exists()


# --- the video frame loop -------------------------------------------------------------------------


def test_video_filler_frame_is_what_fill_faces_gives_with_the_filter_off(tiny_onnx, videos_dir):
    """The video path skips fill_crops' image-sized masks, not its pixels: with the temporal
    filter off every output frame equals fill_faces on the same tracked landmarks (without the
    photos' detail stage, which video does not run)."""
    from mouthsynth.inference.synthesizer import VideoFiller

    cfg = Config()
    cfg.inference.fill_detail = 0.0
    synth = MouthSynthesizer(tiny_onnx, config=cfg)
    filler = VideoFiller(synth, temporal=0.0, fps=25.0)
    filled = 0
    with VideoReader(videos_dir / CLIP) as reader:
        for index, frame in enumerate(reader):
            if index >= 6:
                break
            tracked = filler.track(frame, index / 25.0)
            out, n = filler.fill(frame, tracked)
            reference = synth.fill_faces(frame, [f for f, is_open, _ in tracked if is_open], force=True)
            assert np.array_equal(out, reference.image)
            assert n == reference.synthesised
            filled += n
    assert filled > 0
    assert {"landmarks", "generation", "compositing"} <= set(filler.times)


@pytest.mark.parametrize("threads", [False, True])
def test_video_with_and_without_threads_gives_the_same_frames(tiny_onnx, videos_dir, tmp_path, threads):
    cfg = Config()
    cfg.inference.video_threads = threads
    out = tmp_path / f"threads_{threads}.mp4"
    stats = MouthSynthesizer(tiny_onnx, config=cfg).process_video(
        videos_dir / CLIP, out, progress=False, max_frames=10
    )
    assert stats["frames"] == 10 and stats["threads"] is threads
    assert {"decode", "landmarks", "encode"} <= set(stats["seconds_by_stage"])
    info = video_info(out, count_frames=True)
    assert info["frames"] == 10 and info["has_audio"]


def test_video_crop_side_is_capped_for_video(tiny_onnx):
    synth = MouthSynthesizer(tiny_onnx)
    lips = _lips(0.3, width=400.0).outer_lip
    synth.max_size = 256  # as a model trained up to 256 px would allow
    assert synth.video_crop_side(lips) == 128 and synth.crop_side(lips) == 256  # the video default
    synth.cfg.inference.video_max_crop_size = 0
    assert synth.video_crop_side(lips) == synth.crop_side(lips) == 256
    synth.cfg.inference.video_max_crop_size = 150
    assert synth.video_crop_side(lips) == 128
    assert synth.crop_side(lips) == 256  # photos keep their own cap


def test_detection_schedule_follows_the_config_in_seconds():
    cfg = Config()
    cfg.inference.video_quick_detect_s = 0.0
    cfg.inference.video_full_detect_s = 0.0
    n = 200
    script = [[_lips(0.3)] for _ in range(n)]
    proposals = []
    cfg.inference.video_threads = False
    tracker, backend = FaceTracker(cfg, propose=proposals.append, fps=25.0), ScriptedBackend(script)
    frame = np.zeros((8, 8, 3), np.uint8)
    for index in range(n):
        backend.advance()
        tracker.update(backend, frame, index / 25.0)
    # Only to start (the quick pass found nothing: this one proposes no box): never lost again.
    assert backend.full_detections == 1 and len(proposals) == 1
    cfg = Config()
    cfg.inference.video_full_detect_s = 5.0
    assert FaceTracker(cfg, fps=25.0).refresh_every == 25 and FaceTracker(cfg, fps=25.0).redetect_every == 125
    assert FaceTracker(Config(), fps=25.0).redetect_every == 0  # the default: only when a face is lost
