"""Streaming video on PyAV: frames in, frames out, audio copied packet for packet.

Nothing holds a whole video in memory. The writer encodes H.264 into a temporary file beside the
output and renames it when complete; the input's audio stream is remuxed unchanged (no
re-encode), so dubbing pipelines keep their sound bit-exact.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from mouthsynth.errors import InputError, OutputExistsError


def _open(path: Path):
    import av

    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not a video")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file")
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(path, f"not a readable video ({type(exc).__name__})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(path, "no video stream")
    return container


def _rotation(stream) -> int:
    """Display rotation in degrees (multiple of 90) from the stream's metadata or side data."""
    angle = 0.0
    try:
        matrix = stream.side_data.get("DISPLAYMATRIX") if hasattr(stream, "side_data") else None
        if matrix is not None:
            angle = float(matrix)
    except Exception:
        angle = 0.0
    if not angle:
        try:
            angle = float(stream.metadata.get("rotate", 0))
        except (TypeError, ValueError):
            angle = 0.0
    return int(round(angle / 90.0)) * 90 % 360


class VideoReader:
    """Iterates upright RGB uint8 frames. Properties: fps (Fraction), width, height (upright),
    frame_count (from the container; an estimate for some files), has_audio, rotation."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._container = _open(self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        self.fps = Fraction(rate)
        self.rotation = _rotation(self._stream)
        w, h = self._stream.codec_context.width, self._stream.codec_context.height
        self.width, self.height = (h, w) if self.rotation in (90, 270) else (w, h)
        self.frame_count = int(self._stream.frames or 0) or int(
            round(float(self._container.duration or 0) / 1e6 * float(self.fps))
        )
        self.has_audio = bool(self._container.streams.audio)

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            for frame in self._container.decode(self._stream):
                image = frame.to_ndarray(format="rgb24")
                if self.rotation:
                    # Display matrix angles are counter-clockwise.
                    image = np.ascontiguousarray(np.rot90(image, k=self.rotation // 90))
                yield image
        except InputError:
            raise
        except Exception as exc:
            if type(exc).__name__ in ("InvalidDataError", "EOFError", "FFmpegError") or "Invalid data" in str(
                exc
            ):
                raise InputError(self.path, f"corrupt video data ({exc})") from exc
            raise

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoWriter:
    """H.264 writer with the input's audio copied unchanged. Frames must be RGB uint8 of the
    given size; odd sizes are encoded in yuv444p (4:2:0 needs even sides), so the output keeps the
    input's exact resolution."""

    def __init__(
        self,
        path: str | Path,
        fps: Fraction | float,
        width: int,
        height: int,
        audio_from: str | Path | None = None,
        overwrite: bool = False,
        crf: int = 18,
    ):
        import av

        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise OutputExistsError(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        suffix = self.path.suffix or ".mp4"
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=suffix)
        os.close(fd)
        self._tmp = Path(tmp)
        self._container = av.open(tmp, mode="w")
        fps = Fraction(fps).limit_denominator(100_000)
        self._stream = self._container.add_stream("libx264", rate=fps)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        self._stream.options = {"crf": str(crf), "preset": "veryfast"}
        self._stream.time_base = Fraction(1, 1) / fps
        self._index = 0
        self._audio_in = None
        self._audio_out = None
        if audio_from is not None:
            source = av.open(str(audio_from))
            if source.streams.audio:
                self._audio_in = source
                self._audio_out = self._container.add_stream_from_template(source.streams.audio[0])
            else:
                source.close()
        self.size = (width, height)

    def write(self, frame: np.ndarray) -> None:
        import av

        if frame.shape[1] != self.size[0] or frame.shape[0] != self.size[1]:
            raise InputError(
                self.path,
                f"frame of {frame.shape[1]}x{frame.shape[0]}, expected {self.size[0]}x{self.size[1]}",
            )
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf.pts = self._index
        self._index += 1
        for packet in self._stream.encode(vf):
            self._container.mux(packet)

    def _copy_audio(self) -> None:
        if self._audio_in is None:
            return
        stream = self._audio_in.streams.audio[0]
        for packet in self._audio_in.demux(stream):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = self._audio_out
            self._container.mux(packet)
        self._audio_in.close()

    def close(self) -> Path:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._copy_audio()
        self._container.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._container.close()
        except Exception:
            pass
        if self._audio_in is not None:
            self._audio_in.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def video_info(path: str | Path, count_frames: bool = False) -> dict:
    """fps, size, frame count (decoded when ``count_frames``), audio codec and packet digest."""
    import hashlib

    import av

    path = Path(path)
    with VideoReader(path) as reader:
        info = {
            "fps": reader.fps,
            "width": reader.width,
            "height": reader.height,
            "frames": sum(1 for _ in reader) if count_frames else reader.frame_count,
            "has_audio": reader.has_audio,
        }
    if info["has_audio"]:
        with av.open(str(path)) as c:
            stream = c.streams.audio[0]
            digest = hashlib.sha256()
            n = 0
            for packet in c.demux(stream):
                if packet.dts is None:
                    continue
                digest.update(bytes(packet))
                n += 1
            info.update(
                audio_codec=stream.codec_context.name, audio_packets=n, audio_sha256=digest.hexdigest()
            )
    return info
