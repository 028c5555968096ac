"""Video streaming on real clips: a reader -> writer round trip keeps frame count, fps, size and
the audio packets byte for byte; bad files give one clear line; rotation, odd sizes and variable
frame rate still work."""

from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mouthsynth.errors import InputError, OutputExistsError
from mouthsynth.io.video import VideoReader, VideoWriter, iter_audio_packets, video_info

# 61 frames at 29.97 fps, 512 px, AAC audio: short enough to round-trip whole.
WITH_AUDIO = "V-Express_RD_Radio10_0_clip_0.mp4"
NO_AUDIO = "dreamtalk_M030_front_happy_level3_001.mp4"
# A sound 10 s clip (300 frames at 29.97 fps) whose header declares 448: an edit list hides the
# first 148 stored frames.
WRONG_HEADER = "metrical-tracker_justin_video.mp4"


def _marked_frame(h: int, w: int, value: int = 0) -> np.ndarray:
    """A flat frame with a bright block in its top-left corner, to tell orientations apart."""
    frame = np.full((h, w, 3), value, np.uint8)
    frame[: h // 4, : w // 4] = 255
    return frame


def _write_raw(path: Path, frames: list[np.ndarray], pts: list[int], time_base: Fraction, **kw) -> Path:
    """Encode with PyAV directly (not with the code under test)."""
    options = kw.pop("options", {})
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=kw.pop("rate", 25))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv444p" if stream.width % 2 or stream.height % 2 else "yuv420p"
        stream.time_base = time_base
        if "rotation" in kw:
            stream.set_display_rotation(kw.pop("rotation"))
        for frame, t in zip(frames, pts, strict=True):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = t
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    return path


def _decode_all(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return list(reader)


# --- the real clips ---------------------------------------------------------------------------
def test_shared_clip_has_audio(videos_dir):
    info = video_info(videos_dir / WITH_AUDIO)
    assert info["has_audio"] and info["audio_codec"] == "aac" and info["audio_packets"] > 10
    assert info["fps"] == Fraction(30000, 1001)
    assert (info["width"], info["height"]) == (512, 512)
    assert not video_info(videos_dir / NO_AUDIO)["has_audio"]


def test_round_trip_keeps_frames_fps_size_and_audio_bytes(videos_dir, tmp_path):
    source = videos_dir / WITH_AUDIO
    target = tmp_path / "out" / "clip.mp4"
    first_in = None
    with VideoReader(source) as reader:
        with VideoWriter(target, reader.fps, reader.width, reader.height, audio_from=source) as writer:
            for frame in reader:
                first_in = frame if first_in is None else first_in
                writer.write(frame)
    before, after = video_info(source, count_frames=True), video_info(target, count_frames=True)
    assert after["frames"] == before["frames"] == writer.frames_written
    assert after["fps"] == before["fps"]
    assert (after["width"], after["height"]) == (before["width"], before["height"])
    assert after["audio_codec"] == before["audio_codec"]
    assert list(iter_audio_packets(target)) == list(iter_audio_packets(source))
    assert after["audio_sha256"] == before["audio_sha256"]
    # The pictures survive the re-encode (crf 18): close to the decoded input.
    with VideoReader(target) as reader:
        first_out = next(iter(reader))
    assert np.abs(first_out.astype(int) - first_in).mean() < 3
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]  # no temporary file left


def test_encoded_colours_match_the_frames(tmp_path):
    """Saturated patches come back at their own colour: the RGB -> YUV 4:2:0 conversion uses
    the matrix and range the decoder assumes (BT.601, limited), to within a few levels."""
    colours = np.array(
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [40, 40, 40], [230, 180, 150]], np.uint8
    )
    frame = np.repeat(np.repeat(colours[None], 64, 0), 64, 1)  # 64 x 384, one patch per colour
    target = tmp_path / "patches.mp4"
    with VideoWriter(target, 25, frame.shape[1], frame.shape[0]) as writer:
        for _ in range(3):
            writer.write(frame)
    with VideoReader(target) as reader:
        back = next(iter(reader)).astype(float)
    for k, colour in enumerate(colours):
        patch = back[16:48, 64 * k + 16 : 64 * k + 48].reshape(-1, 3).mean(0)
        assert np.abs(patch - colour).max() < 6, (colour, patch)


def _write_tone(path: Path, seconds: float, rate: int = 16000) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        t = np.arange(int(seconds * rate), dtype=np.float32) / rate
        frame = av.AudioFrame.from_ndarray(
            (0.2 * np.sin(2 * np.pi * 440 * t))[None], format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = rate, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_audio_is_interleaved_so_the_output_streams_to_disk(tmp_path):
    # Were the audio only added at the end, FFmpeg's interleaver would hold every video packet in
    # memory until then: nothing would reach the disk while frames are written.
    tone = _write_tone(tmp_path / "tone.m4a", 15.0)
    target = tmp_path / "clip.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(target, 5, 64, 64, audio_from=tone) as writer:
        for _ in range(75):
            writer.write(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        (partial,) = tmp_path.glob(".clip.*")
        assert partial.stat().st_size > 100_000
    assert not partial.exists()
    with av.open(str(target)) as container:
        kinds = [p.stream.type for p in container.demux() if p.dts is not None]
    assert kinds.count("video") == 75
    first_quarter = kinds[: len(kinds) // 4]
    assert "audio" in first_quarter and "video" in first_quarter
    assert list(iter_audio_packets(target)) == list(iter_audio_packets(tone))


def test_clip_without_audio_gives_output_without_audio(videos_dir, tmp_path):
    source = videos_dir / NO_AUDIO
    target = tmp_path / "silent.mp4"
    with VideoReader(source) as reader:
        assert not reader.has_audio and reader.frame_count == 94
        with VideoWriter(target, reader.fps, reader.width, reader.height, audio_from=source) as writer:
            for index, frame in enumerate(reader):
                if index == 10:  # the first frames are enough here
                    break
                writer.write(frame)
    info = video_info(target, count_frames=True)
    assert info["frames"] == 10 and not info["has_audio"] and info["fps"] == 25


# --- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p, v: None, "file not found"),
        (lambda p, v: p.mkdir(), "is a folder"),
        (lambda p, v: p.write_bytes(b""), "empty file"),
        (lambda p, v: p.write_bytes(np.random.default_rng(0).bytes(20000)), "not a readable video"),
        (lambda p, v: p.write_text("not a video at all\n" * 50), "not a readable video"),
        # The shared clips keep their index at the end: cut in half, the file cannot be opened.
        (lambda p, v: p.write_bytes((v / NO_AUDIO).read_bytes()[:15000]), "not a readable video"),
    ],
    ids=["missing", "folder", "empty", "random-bytes", "text", "truncated"],
)
def test_unusable_videos_raise_one_clear_line(tmp_path, videos_dir, make, problem):
    path = tmp_path / "clip.mp4"
    make(path, videos_dir)
    with pytest.raises(InputError) as info:
        with VideoReader(path) as reader:
            for _ in reader:
                pass
    message = str(info.value)
    assert problem in message and str(path) in message and "\n" not in message


def test_truncated_faststart_video_is_reported(tmp_path):
    # Index first (faststart): a cut file still opens, and the decoder just runs out of data.
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(30)]
    whole = tmp_path / "whole.mp4"
    _write_raw(whole, frames, list(range(30)), Fraction(1, 25), options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    with pytest.raises(InputError, match=r"video ends early: \d+ of 30 frames decoded"):
        _decode_all(cut)
    assert len(_decode_all(whole)) == 30  # the complete file reads without complaint


def test_header_frame_count_does_not_decide_truncation(videos_dir, caplog):
    path = videos_dir / WRONG_HEADER
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 448  # what the header claims
    with caplog.at_level("INFO", logger="mouthsynth.io.video"):
        with VideoReader(path) as reader:
            assert abs(reader.frame_count - 300) <= 2  # duration x fps, for progress bars
            assert abs(reader.duration - 10.0) < 0.1
            frames = sum(1 for _ in reader)  # no "video ends early"
    assert frames == 300
    notes = [r.getMessage() for r in caplog.records if r.name == "mouthsynth.io.video"]
    assert len(notes) == 1 and "448" in notes[0] and "\n" not in notes[0]
    assert abs(video_info(path)["frames"] - 300) <= 2


def test_consistent_header_count_is_kept(videos_dir, caplog):
    # V-Express declares 62 frames, 2.069 s at 29.97 fps: the header is believed, and the 61 that
    # decode reach the stream's end, so nothing is reported.
    with caplog.at_level("INFO", logger="mouthsynth.io.video"):
        with VideoReader(videos_dir / WITH_AUDIO) as reader:
            assert reader.frame_count == 62
            assert sum(1 for _ in reader) == 61
    assert not [r for r in caplog.records if r.name == "mouthsynth.io.video"]


def test_frames_stopping_short_of_the_duration_are_reported(tmp_path):
    # A cut Matroska file keeps its duration in the header but declares no frame count.
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(50)]
    whole = _write_raw(tmp_path / "whole.mkv", frames, list(range(50)), Fraction(1, 25))
    cut = tmp_path / "cut.mkv"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with VideoReader(cut) as reader:
        assert reader.frame_count == 50
    with pytest.raises(InputError) as info:
        _decode_all(cut)
    message = str(info.value)
    assert "video ends early" in message and "of 2.00 s" in message and str(cut) in message
    assert "\n" not in message
    assert len(_decode_all(whole)) == 50


def test_audio_only_file_has_no_video_stream(tmp_path):
    path = _write_tone(tmp_path / "sound.m4a", 0.5)
    with pytest.raises(InputError, match="no video stream"):
        VideoReader(path)


def test_frames_stream_once(videos_dir):
    with VideoReader(videos_dir / NO_AUDIO) as reader:
        assert next(iter(reader)).shape == (256, 256, 3)
        with pytest.raises(RuntimeError):
            next(iter(reader))


# --- the writer -------------------------------------------------------------------------------
def test_existing_output_needs_overwrite(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        VideoWriter(target, 25, 64, 64)
    assert target.read_bytes() == b"keep me"
    with VideoWriter(target, 25, 64, 64, overwrite=True) as writer:
        writer.write(_marked_frame(64, 64))
    assert video_info(target, count_frames=True)["frames"] == 1


def test_failure_midway_leaves_no_file(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="expected"):
        with VideoWriter(target, 25, 64, 64) as writer:
            writer.write(_marked_frame(64, 64))
            writer.write(_marked_frame(32, 64))  # wrong size
    assert list(tmp_path.iterdir()) == []


def test_written_file_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with VideoWriter(tmp_path / "out.mp4", 25, 64, 64) as writer:
            writer.write(_marked_frame(64, 64))
    finally:
        os.umask(old)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(("width", "height"), [(65, 33), (64, 33), (65, 48)])
def test_odd_sizes_round_trip_at_the_same_resolution(tmp_path, width, height):
    frame = _marked_frame(height, width, 60)
    frame[:, -2:] = (200, 30, 30)  # the edge column(s) a pad-and-crop would get wrong
    frame[-2:, :-2] = (30, 30, 200)
    target = tmp_path / "odd.mp4"
    with VideoWriter(target, Fraction(24), width, height) as writer:
        for _ in range(5):
            writer.write(frame)
    back = _decode_all(target)
    assert len(back) == 5
    assert back[2].shape == (height, width, 3)
    error = np.abs(back[2].astype(int) - frame)
    assert error.mean() < 3
    assert error[:, -1].mean() < 6 and error[-1].mean() < 6


# --- rotation and frame rate ------------------------------------------------------------------
@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_video_comes_upright(tmp_path, rotation):
    stored = [_marked_frame(32, 64) for _ in range(3)]
    path = _write_raw(tmp_path / "phone.mov", stored, [0, 1, 2], Fraction(1, 25), rotation=rotation)
    with VideoReader(path) as reader:
        assert reader.rotation == rotation % 360
        frames = list(reader)
        size = (reader.width, reader.height)
    assert size == ((32, 64) if rotation % 180 else (64, 32))
    assert frames[0].shape == (size[1], size[0], 3)
    # Shown = stored turned counter-clockwise by the rotation (PyAV's and FFmpeg's convention):
    # the top-left block ends bottom-left at 90, top-right at -90, bottom-right at 180.
    expected = np.rot90(stored[0], k=(rotation // 90) % 4)
    assert np.abs(frames[0].astype(int) - expected).mean() < 3


def test_shared_mov_files_are_upright_as_stored(videos_dir):
    with VideoReader(videos_dir / "LIA_driving3.mov") as reader:
        assert reader.rotation == 0 and (reader.width, reader.height) == (256, 256) and reader.has_audio


def test_variable_frame_rate_keeps_frame_count_at_the_average_rate(tmp_path):
    # Alternating 30 ms and 50 ms steps: 40 ms (25 fps) on average.
    pts = np.cumsum([0] + [30 if i % 2 else 50 for i in range(19)]).tolist()
    frames = [_marked_frame(48, 64, value=i * 10) for i in range(20)]
    source = _write_raw(tmp_path / "vfr.mkv", frames, pts, Fraction(1, 1000), rate=25)
    target = tmp_path / "cfr.mp4"
    with VideoReader(source) as reader:
        assert abs(float(reader.fps) - 25) < 1.5
        with VideoWriter(target, reader.fps, reader.width, reader.height, audio_from=source) as writer:
            for frame in reader:
                writer.write(frame)
    info = video_info(target, count_frames=True)
    assert info["frames"] == 20 and info["fps"] == writer.fps
    back = _decode_all(target)
    # Same frames in the same order: the i-th frame's grey level is 10 * i.
    levels = [int(np.median(f[-10:, -10:, 0])) for f in back]
    assert all(abs(level - 10 * i) <= 3 for i, level in enumerate(levels))


def test_audio_can_come_from_a_copy_elsewhere(videos_dir, tmp_path):
    source = tmp_path / "in" / "copy.mov"
    source.parent.mkdir()
    shutil.copy(videos_dir / "LIA_driving2.mp4", source)
    target = tmp_path / "out.mkv"
    with VideoReader(source) as reader:
        with VideoWriter(target, reader.fps, reader.width, reader.height, audio_from=source) as writer:
            for index, frame in enumerate(reader):
                if index == 5:
                    break
                writer.write(frame)
    assert list(iter_audio_packets(target)) == list(iter_audio_packets(source))


# --- decode and encode in threads of their own ---------------------------------------------------


def test_threaded_reader_and_writer_round_trip_frames_and_audio(videos_dir, tmp_path):
    from mouthsynth.io.video import Prefetcher

    source = videos_dir / WITH_AUDIO
    out = tmp_path / "threaded.mp4"
    with VideoReader(source) as reader:
        frames = Prefetcher(reader, depth=3)
        writer = VideoWriter(out, reader.fps, reader.width, reader.height, audio_from=source, threaded=True)
        count = 0
        for frame in frames:
            writer.write(frame)
            count += 1
        assert writer.frames_written == count
        writer.close()
    assert frames.busy > 0 and writer.busy > 0
    before, after = video_info(source, count_frames=True), video_info(out, count_frames=True)
    assert after["frames"] == before["frames"] == count
    assert after["fps"] == before["fps"]
    assert after["audio_sha256"] == before["audio_sha256"]


def test_prefetcher_passes_errors_on_and_stops_early():
    from mouthsynth.io.video import Prefetcher

    def items():
        yield 1
        yield 2
        raise InputError("x.mp4", "corrupt video data")

    got = []
    with pytest.raises(InputError, match="corrupt"):
        for item in Prefetcher(items(), depth=1):
            got.append(item)
    assert got == [1, 2]
    endless = Prefetcher(iter(range(10**9)), depth=2)
    for item in endless:
        if item == 3:
            break
    endless.close()
    assert not endless._thread.is_alive()


def test_threaded_writer_reports_a_bad_frame_and_leaves_no_file(tmp_path):
    out = tmp_path / "bad.mp4"
    writer = VideoWriter(out, 25, 64, 48, threaded=True)
    writer.write(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(ValueError):
        writer.write(np.zeros((10, 10, 3), np.uint8))  # checked in the caller's thread
    writer.abort()
    assert not out.exists() and not list(tmp_path.iterdir())
