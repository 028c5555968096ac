"""`mouthsynth bench`: what the generator costs and how fast the whole pipeline runs.

Every timing is the median of repeated runs after warm-up, and each is reported next to OpenCV
Telea on the same crops in the same process, so the comparison survives a noisy machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _median_seconds(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _crops(size: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Realistic-looking inputs: smooth random images with an elliptic mouth mask."""
    import cv2

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size // 8, size // 8, 3), dtype=np.uint8)
    images = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_CUBIC) for im in images])
    masks = np.zeros((n, size, size), np.float32)
    for m in masks:
        cv2.ellipse(m, (size // 2, size // 2), (size // 4, size // 10), 0, 0, 360, 1.0, -1)
    whites = np.where(masks[..., None] > 0, np.uint8(255), images)
    return whites, masks


def onnx_architecture(model: Path | None) -> dict[str, float]:
    """The generator's width and encoder expansion an ONNX model was exported with (its
    metadata): MobileNetUNet's arguments. A model without them predates the settings and was
    built at width 1 and expansion 4, whatever the config's defaults are now."""
    from mouthsynth.inference.onnx_generator import OnnxGenerator
    from mouthsynth.inference.synthesizer import default_model_path

    meta = OnnxGenerator(Path(model) if model is not None else default_model_path()).metadata
    return {
        "width": float(meta.get("mouthsynth.width", 1.0)),
        "expansion": float(meta.get("mouthsynth.expansion", 4.0)),
    }


def model_info(model: Path | None, size: int) -> dict:
    """Params and MACs of the generator (from its checkpoint/ONNX config, counted in PyTorch)."""
    from mouthsynth.nets.cost import count_macs
    from mouthsynth.nets.generator import MobileNetUNet

    if model is not None and Path(model).suffix != ".onnx":
        from mouthsynth.inference.torch_generator import load_generator

        net, _ = load_generator(Path(model))
    else:
        net = MobileNetUNet(**onnx_architecture(model))
    info = count_macs(net, size)
    return {
        "params": int(info["params"]),
        "macs": int(info["macs"]),
        "gmacs": info["macs"] / 1e9,
        "size": size,
    }


def bench_generator(
    model: Path | None, size: int, repeats: int = 10, batches: tuple[int, ...] = (1, 16)
) -> dict:
    import cv2

    from mouthsynth.inference.onnx_generator import OnnxGenerator
    from mouthsynth.inference.packing import to_network_input
    from mouthsynth.inference.synthesizer import default_model_path

    onnx_path = Path(model) if model is not None and Path(model).suffix == ".onnx" else default_model_path()
    ort_gen = OnnxGenerator(onnx_path)
    size = int(ort_gen.crop_size)
    results: dict = {"onnx_model": str(onnx_path), "threads": os.cpu_count()}
    try:
        import torch

        from mouthsynth.nets.generator import MobileNetUNet

        torch_net = MobileNetUNet(**onnx_architecture(onnx_path)).eval()
    except ImportError:
        torch_net = None
    for batch in batches:
        whites, masks = _crops(size, batch)
        x = to_network_input(whites, masks)
        row = {}
        t = _median_seconds(lambda x=x: ort_gen(x), repeats)
        row["onnxruntime"] = {"seconds": t, "ms_per_crop": 1000 * t / batch, "crops_per_s": batch / t}
        if torch_net is not None:
            tx = torch.from_numpy(x)

            def run_torch(tx=tx):
                with torch.no_grad():
                    torch_net(tx)

            t = _median_seconds(run_torch, repeats)
            row["torch_eager"] = {"seconds": t, "ms_per_crop": 1000 * t / batch, "crops_per_s": batch / t}

        def telea(whites=whites, masks=masks):
            for w, m in zip(whites, masks, strict=True):
                cv2.inpaint(w, (m > 0).astype(np.uint8), 3, cv2.INPAINT_TELEA)

        t = _median_seconds(telea, repeats)
        row["opencv_telea"] = {"seconds": t, "ms_per_crop": 1000 * t / batch, "crops_per_s": batch / t}
        row["onnx_vs_telea_speed"] = row["opencv_telea"]["seconds"] / row["onnxruntime"]["seconds"]
        results[f"batch_{batch}"] = row
    return results


def bench_sides(model: Path | None, repeats: int = 10, sides: tuple[int, ...] | None = None) -> dict:
    """Generation cost per crop side (batch 1), from the model's base side up to the largest it
    runs at (every multiple of 32), each next to OpenCV Telea on the same crops."""
    import cv2

    from mouthsynth.inference.onnx_generator import OnnxGenerator
    from mouthsynth.inference.synthesizer import default_model_path

    onnx_path = Path(model) if model is not None and Path(model).suffix == ".onnx" else default_model_path()
    gen = OnnxGenerator(onnx_path)
    base, largest = int(gen.crop_size), int(gen.max_crop_size)
    sides = sides or tuple(range(base, largest + 1, 32))
    rows = {}
    for side in sides:
        whites, masks = _crops(side, 1)
        t = _median_seconds(lambda w=whites, m=masks: gen.run_crops(w, m), repeats)
        hole = (masks[0] > 0).astype(np.uint8)
        telea = _median_seconds(lambda w=whites[0], h=hole: cv2.inpaint(w, h, 3, cv2.INPAINT_TELEA), repeats)
        rows[str(side)] = {"ms_per_crop": 1000 * t, "telea_ms": 1000 * telea, "vs_telea_time": t / telea}
    return {"onnx_model": str(onnx_path), "base": base, "largest": largest, "sides": rows}


def bench_pipeline(
    video: Path,
    model: Path | None,
    max_frames: int = 150,
    sequential: bool = True,
    overrides: tuple[str, ...] = (),
) -> dict:
    """Frames/s of ``mouthsynth video`` on ``video`` (its first ``max_frames`` frames), through
    ``MouthSynthesizer.process_video`` itself: decode, landmarks, generation, compositing,
    encode and the audio copy. Stage times are the seconds each stage was busy (decode and
    encode in their own threads); ``overlap`` is their sum over the wall time (1 = one after
    another). With ``sequential`` the same frames also run with ``inference.video_threads``
    off, in the same process, and ``speedup`` is the ratio of the two rates."""
    from mouthsynth.config import load_config
    from mouthsynth.inference.synthesizer import MouthSynthesizer
    from mouthsynth.io.video import VideoReader

    with VideoReader(video) as reader:
        size = (reader.width, reader.height)
        fps = float(reader.fps)
    runs = {}
    for threads in (True, False) if sequential else (True,):
        cfg = load_config(None, [*overrides, f"inference.video_threads={str(threads).lower()}"])
        synth = MouthSynthesizer(model, config=cfg)
        sides: list[int] = []
        side = synth.video_crop_side
        synth.video_crop_side = lambda lips, side=side, sides=sides: sides.append(side(lips)) or sides[-1]
        synth.landmarks  # noqa: B018 - load the landmark models before the clock starts
        with tempfile.TemporaryDirectory() as tmp:
            stats = synth.process_video(video, Path(tmp) / "out.mp4", progress=False, max_frames=max_frames)
        frames = max(stats["frames"], 1)
        stages = stats["seconds_by_stage"]
        busy = sum(stages.values())
        runs["threaded" if threads else "sequential"] = {
            "frames": stats["frames"],
            "frames_per_s": stats["frames"] / stats["seconds"],
            "ms_per_frame": 1000 * stats["seconds"] / frames,
            "ms_per_frame_by_stage": {k: 1000 * v / frames for k, v in stages.items()},
            "overlap": busy / stats["seconds"],
            "bottleneck": max(stages, key=stages.get) if stages else None,
            "synthesised": stats["synthesised"],
            "crop_sides": sorted(set(sides)),
        }
    main = runs["threaded"]
    report = {
        "video": str(video),
        "resolution": f"{size[0]}x{size[1]}",
        "fps": fps,
        "overrides": list(overrides),
        **main,
        "seconds_per_stage": {k: v * main["frames"] / 1000 for k, v in main["ms_per_frame_by_stage"].items()},
        "runs": runs,
    }
    if "sequential" in runs:
        report["speedup_vs_sequential"] = main["frames_per_s"] / runs["sequential"]["frames_per_s"]
    return report


def machine() -> dict:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
