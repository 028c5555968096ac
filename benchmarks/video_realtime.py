"""Real time at 720p: `mouthsynth video`'s own loop (``bench_pipeline``, decode to encode with the
audio copied) on two real 1280x720 one-face clips with audio, several runs each, with the CPU
seconds the process spent per frame beside the frame rate. Pause other work first (e.g.
``pgrep -f "mouthsynth train" | xargs kill -STOP``, then ``-CONT``): the figure is for 2 idle
cores.

    python benchmarks/video_realtime.py docs/data/video_fps_idle.json --runs 3
    python benchmarks/video_realtime.py out.json --set inference.video_preset=veryfast
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOUTHSYNTH_SHARED", REPO.parent / "shared"))
CLIPS = ["sber-swap_nggyup.mp4", "smirk_dafoe.mp4"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    from mouthsynth.evaluation.bench import bench_pipeline, machine

    results: dict[str, list[dict]] = {}
    for run in range(args.runs):
        for clip in CLIPS:  # interleaved, so a noisy minute hits both clips
            cpu = time.process_time()
            report = bench_pipeline(
                SHARED / "data" / "videos" / clip, None, args.frames, False, tuple(args.overrides)
            )
            report["cpu_ms_per_frame"] = 1000 * (time.process_time() - cpu) / max(report["frames"], 1)
            results.setdefault(Path(clip).stem, []).append(report)
            stages = {k: round(v, 1) for k, v in report["ms_per_frame_by_stage"].items()}
            print(
                f"{clip} run {run}: {report['frames_per_s']:.1f} frames/s, "
                f"{report['cpu_ms_per_frame']:.0f} ms CPU/frame, {stages}",
                flush=True,
            )
    rates = [r["frames_per_s"] for runs in results.values() for r in runs]
    print(f"frames/s: {min(rates):.1f}-{max(rates):.1f}, median {statistics.median(rates):.1f}")
    args.json.write_text(
        json.dumps({"machine": machine(), "overrides": args.overrides, "clips": results}, indent=1)
    )


if __name__ == "__main__":
    main()
