"""The generator on PyTorch, from a training checkpoint: the same interface as OnnxGenerator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mouthsynth.config import Config, load_config, parse_sizes
from mouthsynth.errors import ModelError, MouthSynthError
from mouthsynth.export.onnx_export import model_metadata
from mouthsynth.inference.packing import from_network_output, to_network_input
from mouthsynth.nets.generator import MobileNetUNet, build_generator
from mouthsynth.training.checkpoint import latest_checkpoint, load_weights


def resolve_checkpoint(path: Path) -> tuple[Path, Path]:
    """A checkpoint folder, or a run folder (its best, else latest checkpoint), or a
    ``.safetensors`` file with ``config.yaml`` beside it -> (weights, config)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model not found")
    if path.is_file():
        if path.suffix != ".safetensors":
            raise ModelError(
                f"{path}: the torch backend needs a .safetensors file or a checkpoint folder "
                "(use --backend onnx for .onnx files)"
            )
        return path, path.parent / "config.yaml"
    if (path / "checkpoints").is_dir():
        best = path / "checkpoints" / "best"
        path = best if best.is_dir() else (latest_checkpoint(path) or path)
    # The EMA weights are the ones a run exports: smoother than the raw generator.
    for name in ("generator_ema.safetensors", "generator.safetensors"):
        if (path / name).is_file():
            return path / name, path / "config.yaml"
    raise ModelError(f"{path}: no generator weights (expected a checkpoint folder or a .safetensors file)")


def load_generator(path: Path, device: str = "cpu") -> tuple[MobileNetUNet, Config]:
    weights, config = resolve_checkpoint(path)
    if not config.is_file():
        raise ModelError(f"{config}: config.yaml of the checkpoint is missing")
    try:
        cfg = load_config(config)
    except MouthSynthError as exc:
        raise ModelError(f"{config}: unusable checkpoint config ({exc})") from exc
    net = build_generator(cfg.model)
    load_weights(weights, net)
    return net.to(device).eval(), cfg


class TorchGenerator:
    """``__call__(N x 4 x S x S float32) -> N x 3 x S x S float32``; ``crop_size``, ``card`` and
    ``metadata`` (the keys an exported ONNX model would carry) as on OnnxGenerator."""

    def __init__(self, path: str | Path, device: str = "cpu"):
        if device == "cuda" and not torch.cuda.is_available():
            raise ModelError("--device cuda: no CUDA device is available")
        if device not in ("cpu", "cuda"):
            raise ModelError(f"--device {device!r}: use cpu or cuda")
        self.path = Path(path)
        self.device = device
        self.net, self.config = load_generator(self.path, device)
        self.crop_size = int(self.config.data.size)
        self.max_crop_size = max(parse_sizes(self.config.data))
        self.card: dict = {"name": "mouthsynth generator (checkpoint)", "checkpoint": str(self.path)}
        # The crop geometry the model was trained with, as export writes it into ONNX metadata.
        self.metadata = model_metadata(self.config, self.card)

    @torch.no_grad()
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """N x 4 x S x S float32 -> N x 3 x S x S float32 (composited, in [-1, 1])."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1] != 4 or batch.shape[2] % 32 or batch.shape[3] % 32:
            raise ValueError(
                f"generator input must be N x 4 x H x W with H, W multiples of 32, got {batch.shape}"
            )
        return self.net(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()

    def run_crops(self, white_filled: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """N x S x S x 3 uint8 white-filled crops + N x S x S masks -> N x S x S x 3 uint8."""
        return from_network_output(self(to_network_input(white_filled, masks)))
