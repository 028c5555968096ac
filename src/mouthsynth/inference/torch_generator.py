"""The generator on PyTorch, from a training checkpoint: the same interface as OnnxGenerator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mouthsynth.config import load_config
from mouthsynth.errors import ModelError
from mouthsynth.inference.packing import from_network_output, to_network_input
from mouthsynth.nets.generator import MobileNetUNet, build_generator
from mouthsynth.training.checkpoint import load_weights


def resolve_checkpoint(path: Path) -> tuple[Path, Path]:
    """A checkpoint folder, or a run folder (its best, else latest checkpoint), or a
    ``.safetensors`` file with ``config.yaml`` beside it -> (weights, config)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".safetensors":
        return path, path.parent / "config.yaml"
    if (path / "checkpoints").is_dir():
        from mouthsynth.training.checkpoint import latest_checkpoint

        best = path / "checkpoints" / "best"
        path = best if best.is_dir() else (latest_checkpoint(path) or path)
    for name in ("generator_ema.safetensors", "generator.safetensors"):
        if (path / name).is_file():
            return path / name, path / "config.yaml"
    raise ModelError(f"{path}: no generator weights (expected a checkpoint folder or a .safetensors file)")


def load_generator(path: Path, device: str = "cpu") -> tuple[MobileNetUNet, object]:
    weights, config = resolve_checkpoint(path)
    if not config.is_file():
        raise ModelError(f"{config}: config.yaml of the checkpoint is missing")
    cfg = load_config(config)
    net = build_generator(cfg.model)
    load_weights(weights, net)
    return net.to(device).eval(), cfg


class TorchGenerator:
    def __init__(self, path: str | Path, device: str = "cpu"):
        if device == "cuda" and not torch.cuda.is_available():
            raise ModelError("--device cuda: no CUDA device is available")
        self.device = device
        self.net, self.config = load_generator(Path(path), device)
        self.crop_size = self.config.data.size
        self.card: dict = {}
        self.metadata: dict = {}

    @torch.no_grad()
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.net(torch.from_numpy(batch).to(self.device)).cpu().numpy()

    def run_crops(self, white_filled: np.ndarray, masks: np.ndarray) -> np.ndarray:
        return from_network_output(self(to_network_input(white_filled, masks)))
