"""Export the generator to ONNX (opset 17, dynamic batch) with its metadata, and prove the
export right: ONNX Runtime must match PyTorch within 1e-3 on random inputs."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from mouthsynth.config import parse_sizes
from mouthsynth.errors import ModelError, OutputExistsError
from mouthsynth.io.images import publish

OPSET = 17
TOLERANCE = 1e-3


def export_onnx(
    generator: torch.nn.Module,
    path: str | Path,
    size: int = 128,
    metadata: dict[str, str] | None = None,
    overwrite: bool = False,
    max_size: int | None = None,
) -> dict:
    """Write ``path`` atomically; returns ``{"max_abs_diff": ..., "path": ...}``."""
    import onnx

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = generator.eval().cpu()
    dummy = torch.zeros(1, 4, size, size)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".onnx")
    os.close(fd)
    try:
        torch.onnx.export(
            generator,
            (dummy,),
            tmp,
            input_names=["input"],
            output_names=["output"],
            # Any crop side (multiples of 32): inference runs the generator at the crop's own size.
            dynamic_axes={
                "input": {0: "batch", 2: "height", 3: "width"},
                "output": {0: "batch", 2: "height", 3: "width"},
            },
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
        model = onnx.load(tmp)
        for key, value in (metadata or {}).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, str(value)
        onnx.checker.check_model(model)
        onnx.save(model, tmp)
        diff = max(check_export(generator, Path(tmp), s) for s in sorted({size, max_size or size}))
        publish(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"max_abs_diff": diff, "path": str(path), "bytes": path.stat().st_size}


def export_generator(
    generator: torch.nn.Module, cfg, path: str | Path, card: dict, overwrite: bool = False
) -> dict:
    """``export_onnx`` with what the config says: base side, largest trained side, metadata."""
    return export_onnx(
        generator,
        path,
        cfg.data.size,
        model_metadata(cfg, card),
        overwrite=overwrite,
        max_size=max(parse_sizes(cfg.data)),
    )


def check_export(
    generator: torch.nn.Module, onnx_path: Path, size: int, batch: int = 3, seed: int = 0
) -> float:
    """Largest |ONNX Runtime - PyTorch| on random crops with random binary masks."""
    from mouthsynth.inference.onnx_generator import OnnxGenerator

    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (batch, 4, size, size)).astype(np.float32)
    x[:, 3] = (rng.random((batch, size, size)) < 0.3).astype(np.float32)
    with torch.no_grad():
        expected = generator(torch.from_numpy(x)).numpy()
    got = OnnxGenerator(onnx_path)(x)
    diff = float(np.abs(got - expected).max())
    if not diff <= TOLERANCE:
        raise ModelError(f"{onnx_path}: ONNX Runtime differs from PyTorch by {diff:.2e} (> {TOLERANCE})")
    return diff


def model_metadata(cfg, card: dict) -> dict[str, str]:
    """The ONNX metadata a model carries: the crop geometry it was trained with (read back by
    inference), its config digest and its card."""
    return {
        "mouthsynth.crop_size": str(cfg.data.size),
        "mouthsynth.max_crop_size": str(max(parse_sizes(cfg.data))),
        "mouthsynth.width": str(cfg.model.width),
        "mouthsynth.expansion": str(cfg.model.expansion),
        "mouthsynth.mask_dilation": str(cfg.geometry.mask_dilation),
        "mouthsynth.global_scale": str(cfg.geometry.global_scale),
        "mouthsynth.config_digest": cfg.digest(),
        "mouthsynth.card": json.dumps(card),
    }


def model_card(cfg, checkpoint: Path, extra: dict | None = None) -> dict:
    """The JSON card shipped with a model: what it was trained on, how, and how well."""
    state = (
        json.loads((checkpoint / "state.json").read_text()) if (checkpoint / "state.json").is_file() else {}
    )
    run = {}
    for candidate in (checkpoint / "run.json", checkpoint.parent.parent / "run.json"):
        if candidate.is_file():
            run = json.loads(candidate.read_text())
            break
    card = {
        "name": "mouthsynth generator",
        "architecture": f"MobileNetV2 U-Net, width {cfg.model.width}",
        "crop_size": cfg.data.size,
        "crop_sizes": parse_sizes(cfg.data),
        "global_scale": cfg.geometry.global_scale,
        "mask_dilation": cfg.geometry.mask_dilation,
        "steps": state.get("step"),
        "losses": {
            k: v
            for k, v in cfg.to_dict()["losses"].items()
            if k
            in (
                "l1",
                "boundary_weight",
                "perceptual",
                "adv_global",
                "adv_local",
                "fm_global",
                "fm_local",
                "temporal",
                "gan_mode",
            )
        },
        # The run folder's record, else the checkpoint's or state's own (a copied checkpoint).
        "perceptual_net": run.get("perceptual_net", state.get("perceptual_net")),
        "perceptual_sha256": run.get("perceptual_sha256", state.get("perceptual_sha256")),
        "validation": state.get("metrics", {}),
        "config_digest": cfg.digest(),
    }
    card.update(extra or {})
    return card
