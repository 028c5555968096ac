"""Streaming video on PyAV: frames in, frames out, audio copied packet for packet.

Nothing holds a whole video in memory. The reader yields upright RGB frames one at a time; the
writer encodes H.264 into a temporary file beside the output, interleaves the input's audio
packets as it goes (remuxed unchanged, no re-encode, so dubbing pipelines keep their sound
bit-exact) and renames the file when complete.

A video is judged complete by time, not by the header's frame count: the frames decoded must
reach the stream's duration (the last frame's timestamp plus its duration). Edit lists and
variable frame rates make the header's count wrong on sound files (a clip cut by an edit list can
declare every stored frame, shown or not); when it disagrees with duration x fps, the count is
estimated from the duration instead and the mismatch is logged at info level.

Decoding and encoding can each run in a thread of their own (``Prefetcher`` ahead of the reader,
``VideoWriter(threaded=True)``): FFmpeg releases the GIL while it decodes, converts and encodes, so
on two cores both overlap the landmarks and the generator.

Variable frame rate input is written at its average rate with the same frame count, so the
duration and the audio sync are kept. Odd frame sizes are encoded in yuv444p: 4:2:0 H.264 cannot
represent an odd width or height at all (its chroma and its cropping work in 2-pixel units), and
the output must keep the input's exact resolution. Some players (browsers, QuickTime) do not play
4:4:4 H.264; even sizes, the usual case, get the universally playable yuv420p.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from mouthsynth.errors import InputError, MouthSynthError
from mouthsynth.io.images import prepare_output, publish

log = logging.getLogger(__name__)

# A video whose decoded frames end earlier than its declared duration by more than this share
# (plus one frame) is reported as truncated; the same share (at least one frame) is how far the
# header's frame count may stray from duration x fps before it is set aside.
TRUNCATION_TOLERANCE = 0.02


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not a video")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file")
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise InputError(path, f"not a readable video ({_reason(exc)})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(path, "no video stream")
    return container


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


def _metadata_rotation(stream: av.video.stream.VideoStream) -> int:
    """Old-style 'rotate' tag (clockwise degrees), as counter-clockwise degrees; 0 if absent."""
    try:
        return -int(float(stream.metadata.get("rotate", 0)))
    except (TypeError, ValueError):
        return 0


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate a stored frame by the display rotation (counter-clockwise degrees, as
    ``VideoFrame.rotation`` reports it and as FFmpeg's own autorotation applies it)."""
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=k)) if k else image


class VideoReader:
    """Iterate over a video's frames as upright RGB uint8 ``H x W x 3`` arrays, one at a time.

    Properties: ``fps`` (average rate, Fraction), ``width``/``height`` (upright), ``rotation``
    (display rotation applied to the frames, counter-clockwise degrees, multiple of 90),
    ``frame_count`` (for progress: the header's count when it agrees with duration x fps, else
    duration x fps), ``duration`` (seconds), ``has_audio``. A file that cannot be opened or
    decoded raises InputError, at construction where possible (the first frame is decoded
    there), else while iterating; so does one whose frames stop well before its duration. The
    frames can be iterated once.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._container = _open(self.path)
        try:
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
            self._frames = self._decode()
            self._first = next(self._frames, None)
            if self._first is None:
                raise InputError(self.path, "no decodable video frames")
        except BaseException:
            self._container.close()
            raise
        stream = self._stream
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        self.fps = Fraction(rate)
        # FFmpeg attaches the container's display matrix to every decoded frame.
        self.rotation = round((self._first.rotation or _metadata_rotation(stream)) / 90) * 90 % 360
        w, h = self._first.width, self._first.height
        self.width, self.height = (h, w) if self.rotation in (90, 270) else (w, h)
        if stream.duration is not None and stream.time_base is not None:
            self.duration = float(stream.duration * stream.time_base)
        else:
            self.duration = float(self._container.duration or 0) / av.time_base
        # Timestamps count from the stream's start; without one, from the first frame's.
        self._start = stream.start_time if stream.start_time is not None else self._first.pts
        self.frame_count = self._estimate_frames(int(stream.frames or 0))
        self.has_audio = bool(self._container.streams.audio)
        self._started = False

    def _estimate_frames(self, declared: int) -> int:
        """The header's frame count when duration x fps agrees with it, else duration x fps."""
        estimate = round(self.duration * float(self.fps)) if self.duration > 0 else 0
        if not declared or not estimate:
            return declared or estimate
        if abs(declared - estimate) <= max(1.0, TRUNCATION_TOLERANCE * estimate):
            return declared
        log.info(
            "%s: the header's frame count (%d) disagrees with %.2f s at %.2f fps; expecting %d frames",
            self.path,
            declared,
            self.duration,
            float(self.fps),
            estimate,
        )
        return estimate

    def _end_time(self, pts: int | None, length: int, decoded: int) -> float:
        """Seconds from the stream's start to the end of the frame at ``pts`` (the latest one
        decoded) lasting ``length`` ticks (one frame at the average rate if unknown)."""
        tb = self._stream.time_base
        if pts is None or tb is None or self._start is None:
            return decoded / float(self.fps)
        return float((pts - self._start) * tb) + (float(length * tb) if length else 1 / float(self.fps))

    def _decode(self) -> Iterator[av.VideoFrame]:
        try:
            yield from self._container.decode(self._stream)
        except av.FFmpegError as exc:
            raise InputError(self.path, f"corrupt video data ({_reason(exc)})") from exc

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._started:
            raise RuntimeError("VideoReader streams its frames once; open the file again to re-read")
        self._started = True
        first, self._first = self._first, None
        # The decoded frame that ends latest (by timestamp): how far decoding got.
        last_pts, last_length, decoded = None, 0, 0
        frames = self._chain(first)
        del first
        for frame in frames:
            decoded += 1
            if frame.pts is not None and (last_pts is None or frame.pts >= last_pts):
                last_pts, last_length = frame.pts, frame.duration or 0
            yield _upright(frame.to_ndarray(format="rgb24"), self.rotation)
        end = self._end_time(last_pts, last_length, decoded)
        if self.duration > 0 and end < self.duration * (1 - TRUNCATION_TOLERANCE) - 1 / float(self.fps):
            raise InputError(
                self.path,
                f"video ends early: {decoded} of {self.frame_count} frames decoded, "
                f"{end:.2f} of {self.duration:.2f} s (truncated or corrupt)",
            )

    def _chain(self, first: av.VideoFrame) -> Iterator[av.VideoFrame]:
        yield first
        del first  # the peeked frame need not live as long as the video
        yield from self._frames

    @property
    def audio_codec(self) -> str | None:
        audio = self._container.streams.audio
        return audio[0].codec_context.name if audio else None

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _AudioCopier:
    """The audio packets of a file, handed out in time order for interleaving with the video."""

    def __init__(self, source: av.container.InputContainer, target: av.container.OutputContainer):
        self._source = source
        stream = source.streams.audio[0]
        self.stream = target.add_stream_from_template(stream)
        # The output video starts at 0: shift the audio by the source video's start (in audio
        # ticks) so the two stay in sync. Usually 0.
        video = source.streams.video[0] if source.streams.video else None
        start = video.start_time * video.time_base if video is not None and video.start_time else 0
        self._shift = round(start / stream.time_base)
        self._packets = (p for p in source.demux(stream) if p.dts is not None)  # no flush packet
        self._pending = next(self._packets, None)

    def mux_until(self, container: av.container.OutputContainer, seconds: float | None) -> None:
        """Mux every pending packet that starts before ``seconds`` (all of them for None)."""
        while self._pending is not None:
            packet = self._pending
            if seconds is not None and float((packet.dts - self._shift) * packet.time_base) >= seconds:
                return
            if self._shift:
                packet.dts -= self._shift
                if packet.pts is not None:
                    packet.pts -= self._shift
            packet.stream = self.stream
            container.mux(packet)
            self._pending = next(self._packets, None)

    def close(self) -> None:
        self._source.close()


def _open_audio_source(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        return av.open(str(path))
    except av.FFmpegError as exc:
        raise InputError(path, f"cannot read its audio ({_reason(exc)})") from exc


class VideoWriter:
    """H.264 (libx264) writer; frames are RGB uint8 of the given size, written at ``fps``
    (pts = frame index). With ``audio_from``, that file's first audio stream (if any) is copied
    into the output unchanged. The output appears only when ``close`` succeeds; ``abort`` (or
    leaving the ``with`` block by an exception) removes the temporary file."""

    def __init__(
        self,
        path: str | Path,
        fps: Fraction | float,
        width: int,
        height: int,
        audio_from: str | Path | None = None,
        overwrite: bool = False,
        crf: int = 18,
        preset: str = "veryfast",
        threaded: bool = False,
        queue_size: int = 8,
    ):
        self.path = prepare_output(Path(path), overwrite)
        self.busy = 0.0  # seconds spent converting and encoding (in the thread when threaded)
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._queued = 0
        self.size = (int(width), int(height))
        self.fps = Fraction(fps).limit_denominator(100_000)
        if self.fps <= 0 or width <= 0 or height <= 0:
            raise ValueError(f"invalid video size/rate: {width}x{height} at {fps} fps")
        parent, stem, suffix = self.path.parent, self.path.stem, self.path.suffix
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{stem}.", suffix=suffix)
        os.close(fd)
        self._tmp = Path(tmp)
        self._index = 0
        self._audio: _AudioCopier | None = None
        try:
            self._container = av.open(tmp, mode="w")
        except (av.FFmpegError, ValueError) as exc:
            self._tmp.unlink(missing_ok=True)
            raise MouthSynthError(f"{self.path}: cannot write a video of this type ({_reason(exc)})") from exc
        try:
            self._stream = self._container.add_stream("libx264", rate=self.fps)
            self._stream.width, self._stream.height = self.size
            self._stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
            self._stream.time_base = 1 / self.fps
            self._stream.options = {"crf": str(crf), "preset": preset}
            if audio_from is not None:
                source = _open_audio_source(Path(audio_from))
                if source.streams.audio:
                    self._audio = _AudioCopier(source, self._container)
                else:
                    source.close()
            self._container.start_encoding()
        except av.FFmpegError as exc:
            self.abort()
            what = "the audio stream cannot be copied into it, or " if self._audio else ""
            raise MouthSynthError(
                f"{self.path}: cannot start writing ({what}the encoder failed: {_reason(exc)})"
            ) from exc
        except BaseException:
            self.abort()
            raise
        if threaded:
            self._queue = queue.Queue(maxsize=max(1, queue_size))
            self._thread = threading.Thread(target=self._encode_loop, name="mouthsynth-encode", daemon=True)
            self._thread.start()

    def _encode_loop(self) -> None:
        assert self._queue is not None
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            if self._error is not None:
                continue  # drain: the caller learns of the error at its next write or close
            try:
                self._encode(frame)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def write(self, frame: np.ndarray) -> None:
        """Queue (threaded) or encode one frame. A threaded writer keeps a reference to
        ``frame`` until it is encoded: do not change the array afterwards."""
        expected = (self.size[1], self.size[0], 3)
        if frame.shape != expected or frame.dtype != np.uint8:
            raise ValueError(f"{self.path}: frame {frame.shape} {frame.dtype}, expected {expected} uint8")
        if self._queue is None:
            self._encode(frame)
            return
        self._raise_pending()
        self._queue.put(frame)
        self._queued += 1

    def _encode(self, frame: np.ndarray) -> None:
        start = time.perf_counter()
        if self._stream.pix_fmt == "yuv420p":
            # OpenCV's conversion is about 7x cheaper than the encoder's own (swscale) from RGB at
            # 720p, with the same BT.601 limited-range result to within a level.
            yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
            video_frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        else:
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self._index
        self._index += 1
        self._container.mux(self._stream.encode(video_frame))
        if self._audio is not None:
            self._audio.mux_until(self._container, float(self._index / self.fps))
        self.busy += time.perf_counter() - start

    @property
    def frames_written(self) -> int:
        """Frames handed to the writer (encoded, or queued for the encoding thread)."""
        return self._index if self._queue is None else self._queued

    def _join(self) -> None:
        """Stop the encoding thread once it has encoded everything queued."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def close(self) -> Path:
        try:
            self._join()
            self._raise_pending()
            start = time.perf_counter()
            self._container.mux(self._stream.encode())  # flush the encoder's delayed frames
            if self._audio is not None:
                self._audio.mux_until(self._container, None)
                self._audio.close()
            self._container.close()
            self.busy += time.perf_counter() - start
        except BaseException:
            self.abort()
            raise
        publish(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._thread is not None:
            self._error = self._error or RuntimeError("aborted")  # the thread drains without encoding
            try:
                self._join()
            except Exception:
                pass
        for closable in (getattr(self, "_container", None), self._audio):
            try:
                if closable is not None:
                    closable.close()
            except Exception:  # already failing: cleaning up matters more than this error
                pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Prefetcher:
    """Iterate ``items`` (e.g. a VideoReader) in a background thread, up to ``depth`` items
    ahead. Errors raised there are raised here, in order. ``busy`` counts the seconds the thread
    spent producing items; ``close()`` (or leaving a ``with`` block) stops it early."""

    _END = object()

    def __init__(self, items: Iterable, depth: int = 8):
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self.busy = 0.0
        self._thread = threading.Thread(target=self._run, name="mouthsynth-decode", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            it = iter(self._items)
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    break
                finally:
                    self.busy += time.perf_counter() - start
                if not self._put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer
            self._put((None, exc))
            return
        self._put((self._END, None))

    def __iter__(self) -> Iterator:
        try:
            while True:
                item, error = self._queue.get()
                if error is not None:
                    raise error
                if item is self._END:
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def iter_audio_packets(path: str | Path) -> Iterator[bytes]:
    """The payloads of the first audio stream's packets, in file order (none without audio)."""
    with av.open(str(path)) as container:
        if container.streams.audio:
            for packet in container.demux(container.streams.audio[0]):
                if packet.dts is not None:  # the demuxer's final flush packet has none
                    yield bytes(packet)


def video_info(path: str | Path, count_frames: bool = False) -> dict:
    """fps, upright size, rotation, frame count (decoded when ``count_frames``, else as declared
    or estimated), duration, and the audio codec, packet count and a digest of its packets."""
    path = Path(path)
    with VideoReader(path) as reader:
        info = {
            "fps": reader.fps,
            "width": reader.width,
            "height": reader.height,
            "rotation": reader.rotation,
            "frames": sum(1 for _ in reader) if count_frames else reader.frame_count,
            "duration": reader.duration,
            "has_audio": reader.has_audio,
            "audio_codec": reader.audio_codec,
        }
    if info["has_audio"]:
        digest, count = hashlib.sha256(), 0
        for payload in iter_audio_packets(path):
            digest.update(payload)
            count += 1
        info.update(audio_packets=count, audio_sha256=digest.hexdigest())
    return info
