"""H.264 encode cost against quality: libx264 presets and CRFs on a real clip's frames.

Each setting encodes the same decoded frames in the same process (twice, interleaved; the faster
run counts), then the result is decoded and compared with the frames given: encode ms per frame,
KB per frame and PSNR. Chooses ``inference.video_preset`` (config.py).

    python benchmarks/encode_presets.py ../shared/data/videos/sber-swap_nggyup.mp4 [--frames 90]
"""

from __future__ import annotations

import argparse
import io
import time

import av
import numpy as np

SETTINGS = (("veryfast", 18), ("superfast", 18), ("ultrafast", 18), ("ultrafast", 16))


def read_frames(clip: str, count: int) -> list[np.ndarray]:
    frames = []
    with av.open(clip) as container:
        for frame in container.decode(video=0):
            if len(frames) >= count:
                break
            frames.append(frame.to_ndarray(format="rgb24"))
    return frames


def encode(frames: list[np.ndarray], preset: str, crf: int) -> tuple[float, float, float]:
    """(encode ms per frame, KB per frame, PSNR dB of the decoded result)."""
    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    out = av.open(buffer, "w", format="mp4")
    stream = out.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"crf": str(crf), "preset": preset}
    start = time.perf_counter()
    for array in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    seconds = time.perf_counter() - start
    out.close()
    data = buffer.getvalue()
    with av.open(io.BytesIO(data)) as back:
        decoded = [f.to_ndarray(format="rgb24") for f in back.decode(video=0)]
    mse = np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(frames, decoded, strict=False)])
    return 1000 * seconds / len(frames), len(data) / len(frames) / 1024, 10 * np.log10(255**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip")
    parser.add_argument("--frames", type=int, default=90)
    args = parser.parse_args()
    frames = read_frames(args.clip, args.frames)
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    for _ in range(2):
        for preset, crf in SETTINGS:
            results.setdefault((preset, crf), []).append(encode(frames, preset, crf))
    base = min(r[0] for r in results[SETTINGS[0]])
    print(f"{frames[0].shape[1]}x{frames[0].shape[0]}, {len(frames)} frames")
    print("| preset | CRF | encode ms/frame | vs veryfast | KB/frame | PSNR dB |")
    print("|---|---:|---:|---:|---:|---:|")
    for (preset, crf), runs in results.items():
        ms = min(r[0] for r in runs)
        print(f"| {preset} | {crf} | {ms:.1f} | {ms / base:.2f}x | {runs[0][1]:.1f} | {runs[0][2]:.2f} |")


if __name__ == "__main__":
    main()
