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
from collections import defaultdict
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


def onnx_width(model: Path | None) -> float:
    """The generator width an ONNX model was exported with (its metadata), 1.0 if unknown."""
    from mouthsynth.inference.onnx_generator import OnnxGenerator
    from mouthsynth.inference.synthesizer import default_model_path

    meta = OnnxGenerator(Path(model) if model is not None else default_model_path()).metadata
    return float(meta.get("mouthsynth.width", 1.0))


def model_info(model: Path | None, size: int) -> dict:
    """Params and MACs of the generator (from its checkpoint/ONNX config, counted in PyTorch)."""
    from mouthsynth.nets.cost import count_macs
    from mouthsynth.nets.generator import MobileNetUNet

    if model is not None and Path(model).suffix != ".onnx":
        from mouthsynth.inference.torch_generator import load_generator

        net, _ = load_generator(Path(model))
    else:
        net = MobileNetUNet(onnx_width(model))
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

        torch_net = MobileNetUNet(onnx_width(onnx_path)).eval()
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


def bench_pipeline(video: Path, model: Path | None, max_frames: int = 150) -> dict:
    """Frames/s of the video path, split into its stages."""
    from mouthsynth.inference.compositing import composite
    from mouthsynth.inference.synthesizer import FaceTracker, MouthSynthesizer
    from mouthsynth.io.video import VideoReader

    synth = MouthSynthesizer(model)
    tracker = FaceTracker(synth.cfg)
    stages: dict[str, float] = defaultdict(float)
    frames = 0
    start_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, VideoReader(video) as reader:
        writer = synth.video_writer(Path(tmp) / "out.mp4", reader.fps, reader.width, reader.height)
        it = iter(reader)
        while frames < max_frames:
            t0 = time.perf_counter()
            frame = next(it, None)
            t1 = time.perf_counter()
            stages["decode"] += t1 - t0
            if frame is None:
                break
            faces = tracker.update(synth.landmarks, frame, frames / float(reader.fps))
            t2 = time.perf_counter()
            stages["landmarks"] += t2 - t1
            from mouthsynth.geometry import cut_mouth

            crops = [
                cut_mouth(frame, f, synth.crop_side(f.outer_lip), synth.cfg.geometry)
                for f, is_open in faces
                if is_open
            ]
            out = frame
            if crops:
                generated = synth.generator.run_crops(
                    np.stack([c.white_filled for c in crops]), np.stack([c.mask for c in crops])
                )
                t3 = time.perf_counter()
                stages["generation"] += t3 - t2
                for crop, gen in zip(crops, generated, strict=True):
                    out = composite(
                        out, crop, gen, synth.cfg.inference.blend, synth.cfg.inference.color_match
                    )
                t4 = time.perf_counter()
                stages["compositing"] += t4 - t3
            else:
                t4 = time.perf_counter()
            writer.write(out)
            stages["encode"] += time.perf_counter() - t4
            frames += 1
        writer.close()
        size = (reader.width, reader.height)
    total = time.perf_counter() - start_all
    return {
        "video": str(video),
        "resolution": f"{size[0]}x{size[1]}",
        "frames": frames,
        "frames_per_s": frames / total,
        "seconds_per_stage": dict(stages),
        "ms_per_frame_by_stage": {k: 1000 * v / max(frames, 1) for k, v in stages.items()},
        "bottleneck": max(stages, key=stages.get) if stages else None,
    }


def machine() -> dict:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
