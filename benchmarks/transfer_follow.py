"""How well `mouthsynth transfer` follows its driver: per driver/target pair, the correlation of
the target's mouth opening with the driver's over the clip, and its amplitude (90th percentile
of the opening, inner-lip height over width, target / driver).

The target's opening is measured by running the landmark detector on the output frames, not
taken from the points the transfer asked for. Drivers are validation speakers' clips, most of
them starting mid-word; targets are photos and a video. Prints a Markdown table (for
docs/results.md); ``--strip`` also renders the README's picture of driver frames above the
driven target.

    nice -n 10 python benchmarks/transfer_follow.py --frames 100
    nice -n 10 python benchmarks/transfer_follow.py --strip docs/img/transfer_strip.jpg --pairs 0
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOUTHSYNTH_SHARED", REPO.parent / "shared"))
VIDEOS = SHARED / "data" / "videos"
PHOTOS = SHARED / "data" / "photos"

# (driver, target, how the driver starts)
PAIRS = [
    ("dreamtalk_W011_front_surprised_level3_001.mp4", "photos/liveportrait_s42.jpg", "mid-word, wide"),
    ("dreamtalk_W011_front_happy_level3_001.mp4", "photos/stargan-v2_005735.jpg", "mid-word"),
    ("spectre_W023_level_2_surprised_010.mp4", "photos/stargan-v2_006930.jpg", "mid-word"),
    ("SadTalker_WDA_KatieHill_000.mp4", "photos/liveportrait_s42.jpg", "mid-word"),
    ("LIA_driving2.mp4", "photos/SEAN_28083.jpg", "closed, then speaking"),
    ("MimicTalk_German_20s.mp4", "photos/stargan-v2_005735.jpg", "closed, then speaking"),
    ("metrical-tracker_wojtek_video.mp4", "videos/liveportrait_d9.mp4", "mid-word; video target"),
]


def measure(out: Path, backend) -> np.ndarray:
    """The mouth opening the detector finds in each output frame (nan where no face)."""
    from mouthsynth.geometry import mouth_open
    from mouthsynth.io.video import VideoReader

    values, box = [], None
    with VideoReader(out) as reader:
        for frame in reader:
            faces = backend.detect(frame, [box]) if box is not None else []
            faces = faces or backend.detect(frame)
            box = faces[0].face_box if faces else None
            values.append(mouth_open(faces[0].inner_lip) if faces else np.nan)
    return np.array(values)


def follow(driver_open: np.ndarray, target_open: np.ndarray) -> tuple[float, float, float]:
    """(correlation, amplitude = p90 target / p90 driver, share of frames measured)."""
    n = min(len(driver_open), len(target_open))
    d, t = np.asarray(driver_open[:n], float), np.asarray(target_open[:n], float)
    ok = np.isfinite(d) & np.isfinite(t)
    if ok.sum() < 3:
        return float("nan"), float("nan"), float(ok.mean())
    corr = float(np.corrcoef(d[ok], t[ok])[0, 1])
    amp = float(np.percentile(t[ok], 90) / max(np.percentile(d[ok], 90), 1e-6))
    return corr, amp, float(ok.mean())


def run_pair(synth, driver: str, target: str, frames: int | None, folder: Path, **kwargs):
    from mouthsynth.transfer.pipeline import transfer

    out = folder / f"{Path(driver).stem}__{Path(target).stem}.mp4"
    stats = transfer(
        VIDEOS / driver,
        SHARED / "data" / target,
        out,
        synth,
        progress=False,
        max_frames=frames,
        overwrite=True,
        **kwargs,
    )
    measured = measure(out, synth.landmarks)
    return out, stats, measured


def strip(driver: Path, result: Path, driver_open: list[float], path: Path, columns: int = 6) -> None:
    """Driver frames (top) above the driven target (bottom), at the driver's most telling moments:
    its first frame, then frames spread over its opening's range."""
    import cv2

    from mouthsynth.io.images import write_image
    from mouthsynth.io.video import VideoReader

    opening = np.nan_to_num(np.asarray(driver_open, float), nan=-1.0)
    n = len(opening)
    picks = [0]
    # Spread over time, each the most open frame of its slice (shows the jaw at work).
    edges = np.linspace(1, n, columns, dtype=int)
    for a, b in zip(edges[:-1], edges[1:], strict=False):
        picks.append(a + int(np.argmax(opening[a:b])) if b > a else a)
    picks = sorted(set(picks))[:columns]

    def grab(video: Path) -> list[np.ndarray]:
        with VideoReader(video) as reader:
            frames = [f for i, f in zip(range(n), reader, strict=False) if i in picks]
        return frames

    rows = []
    height = 220
    for frames in (grab(driver), grab(result)):
        tiles = []
        for f in frames:
            h, w = f.shape[:2]
            side = min(h, w)
            y0, x0 = (h - side) // 2, (w - side) // 2
            tiles.append(
                cv2.resize(f[y0 : y0 + side, x0 : x0 + side], (height, height), interpolation=cv2.INTER_AREA)
            )
        rows.append(np.concatenate(tiles, 1))
    write_image(path, np.concatenate(rows, 0), overwrite=True)
    print(f"wrote {path}: driver frames {picks}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per pair (from the start)")
    parser.add_argument("--pairs", type=int, nargs="*", help="indices into PAIRS (default: all)")
    parser.add_argument("--model", type=Path, help="ONNX model (default: shipped)")
    parser.add_argument("--strip", type=Path, help="also write the strip picture of the first pair")
    parser.add_argument("--keep", type=Path, help="keep the output videos in this folder")
    args = parser.parse_args()

    from mouthsynth.config import load_config
    from mouthsynth.inference.synthesizer import MouthSynthesizer

    os.environ.setdefault("MOUTHSYNTH_WEIGHTS_DIR", str(SHARED / "weights"))
    synth = MouthSynthesizer(args.model, config=load_config())
    pairs = [PAIRS[i] for i in args.pairs] if args.pairs else PAIRS
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for k, (driver, target, start) in enumerate(pairs):
            t0 = time.perf_counter()
            out, stats, measured = run_pair(synth, driver, target, args.frames, folder)
            corr, amp, seen = follow(np.array(stats.driver_mouth_open), measured)
            rows.append((driver, target, start, stats.frames, corr, amp, seen, stats.neutral))
            print(
                f"{driver} -> {target}: r={corr:.3f} amp={amp:.3f} measured {seen:.0%} "
                f"({time.perf_counter() - t0:.0f} s; {stats.neutral}"
                f"{'; ' + stats.target_neutral if stats.target_neutral else ''})",
                file=sys.stderr,
                flush=True,
            )
            if args.strip and k == 0:
                strip(VIDEOS / driver, out, stats.driver_mouth_open, args.strip)
    print("| driver (start) | target | frames | correlation | amplitude (target/driver, p90) |")
    print("|---|---|---:|---:|---:|")
    for driver, target, start, n, corr, amp, _seen, _neutral in rows:
        print(f"| {Path(driver).stem} ({start}) | {Path(target).stem} | {n} | {corr:.2f} | {amp:.2f} |")
    corrs = [r[4] for r in rows]
    amps = [r[5] for r in rows]
    print(
        f"| **all {len(rows)}** | | | min {np.nanmin(corrs):.2f}, median {np.nanmedian(corrs):.2f} "
        f"| {np.nanmin(amps):.2f}–{np.nanmax(amps):.2f} |"
    )


if __name__ == "__main__":
    main()
