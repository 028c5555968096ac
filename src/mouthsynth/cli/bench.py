"""`mouthsynth bench`: generator cost and speed, and the video pipeline's frames/s by stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, user_errors


def command(
    model: Annotated[Path | None, typer.Option(help="ONNX model (default: shipped) or checkpoint.")] = None,
    size: Annotated[int, typer.Option(help="Crop size for the MAC count.")] = 128,
    video: Annotated[
        Path | None, typer.Option(help="A real video for the pipeline timing (720p ideally).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write all figures as JSON.")] = None,
    model_info: Annotated[bool, typer.Option("--model-info", help="Only params and MACs.")] = False,
    repeats: Annotated[int, typer.Option(help="Timed repetitions (median reported).")] = 10,
    max_frames: Annotated[int, typer.Option(help="Frames of --video to time.")] = 150,
    sequential: Annotated[
        bool,
        typer.Option(help="Also time --video with decode/encode threads off, for the speed-up."),
    ] = True,
    set_: Annotated[
        list[str],
        typer.Option("--set", help="Config override for the --video run (KEY=VALUE, repeatable)."),
    ] = [],  # noqa: B006
) -> None:
    """Params and MACs; latency and crops/s at batch 1 and 16 for ONNX Runtime and PyTorch, with
    OpenCV Telea on the same crops in the same run; generation time per crop side; the video
    pipeline (`mouthsynth video` itself) split by stage, with the threads' overlap."""
    with user_errors():
        from mouthsynth.evaluation import bench

        report: dict = {"machine": bench.machine(), "model_info": bench.model_info(model, size)}
        info = report["model_info"]
        console.print(
            f"generator: {info['params'] / 1e6:.2f} M params, {info['gmacs']:.3f} GMAC per {size}x{size} crop"
        )
        if not model_info:
            gen = bench.bench_generator(model, size, repeats)
            report["generator"] = gen
            for key in ("batch_1", "batch_16"):
                row = gen[key]
                parts = [
                    f"{name} {v['ms_per_crop']:.2f} ms/crop ({v['crops_per_s']:.0f} crops/s)"
                    for name, v in row.items()
                    if isinstance(v, dict)
                ]
                console.print(
                    f"{key}: "
                    + "; ".join(parts)
                    + f"; ONNX is {row['onnx_vs_telea_speed']:.2f}x Telea's speed"
                )
            sides = bench.bench_sides(model if model is None or model.suffix == ".onnx" else None, repeats)
            report["crop_sides"] = sides
            console.print(
                "generation by crop side (batch 1): "
                + "; ".join(
                    f"{side} px {row['ms_per_crop']:.1f} ms ({row['vs_telea_time']:.1f}x Telea's time)"
                    for side, row in sides["sides"].items()
                )
            )
            if video is not None:
                pipe = bench.bench_pipeline(
                    video,
                    model if model is None or model.suffix == ".onnx" else None,
                    max_frames,
                    sequential=sequential,
                    overrides=tuple(set_),
                )
                report["pipeline"] = pipe
                stages = ", ".join(f"{k} {v:.1f}" for k, v in pipe["ms_per_frame_by_stage"].items())
                console.print(
                    f"pipeline on {pipe['resolution']}: {pipe['frames_per_s']:.1f} frames/s, "
                    f"{pipe['ms_per_frame']:.1f} ms/frame (busy ms/frame: {stages}; "
                    f"overlap {pipe['overlap']:.2f}x; bottleneck: {pipe['bottleneck']}; "
                    f"crop sides {pipe['crop_sides']})"
                )
                if "speedup_vs_sequential" in pipe:
                    seq = pipe["runs"]["sequential"]
                    console.print(
                        f"one stage after another (inference.video_threads=false): "
                        f"{seq['frames_per_s']:.1f} frames/s; threads: {pipe['speedup_vs_sequential']:.2f}x"
                    )
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(report, indent=2, default=str) + "\n")
            console.print(f"wrote {json_out}")
