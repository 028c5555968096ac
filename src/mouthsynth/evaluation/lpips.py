"""LPIPS (Zhang et al. 2018), the standard variant: AlexNet backbone + v0.1 linear heads.

Written in the project because the ``lpips`` package needs torchvision. It follows the reference
definition: inputs in [-1, 1] pass the LPIPS scaling layer, each tapped layer's channels are
unit-normalised, the squared difference is weighted by a 1x1 linear head (no bias), averaged
over space and summed over the five layers.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mouthsynth.errors import ModelError
from mouthsynth.nets.alexnet import AlexNetFeatures, load_alexnet
from mouthsynth.nets.weights import candidates, find_weights, load_into, read_state_dict, sha256

LINEAR_FILES = ["lpips_v0.1_alex_linear.safetensors"]
EPS = 1e-10  # lpips.normalize_tensor


class _LinearHead(nn.Module):
    """``NetLinLayer``: ``model.0`` was a Dropout (inactive at evaluation), ``model.1`` the 1x1 conv,
    so the reference's ``linK.model.1.weight`` names load unchanged."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class _Heads(nn.Module):
    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        for k, c in enumerate(channels):
            self.add_module(f"lin{k}", _LinearHead(c))

    def __iter__(self):
        return iter(self.children())


class LPIPS(nn.Module):
    """``lpips(a, b)`` -> one distance per sample (``N``); ``a``, ``b``: ``N x 3 x H x W`` in [-1, 1].
    ``files`` holds each loaded weights file's path and sha256."""

    def __init__(self, backbone: AlexNetFeatures | None = None):
        super().__init__()
        self.net = backbone or AlexNetFeatures()
        self.heads = _Heads(AlexNetFeatures.CHANNELS)
        self.register_buffer(
            "shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), persistent=False)
        self.files: dict[str, dict[str, str]] = {}
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def load(cls, weights_dir: str | Path | None = None) -> LPIPS:
        """Pretrained LPIPS; search order: ``weights_dir``, ``$MOUTHSYNTH_WEIGHTS_DIR``, torch's hub
        cache. ModelError saying what is missing and where it was looked for."""
        backbone, net_path, net_sha = load_alexnet(folder=weights_dir)
        linear_path = find_weights(LINEAR_FILES, folder=weights_dir)
        if linear_path is None:
            searched = ", ".join(str(p) for p in candidates(LINEAR_FILES, folder=weights_dir))
            raise ModelError(f"no LPIPS v0.1 AlexNet linear heads found; searched: {searched}")
        metric = cls(backbone)
        load_into(metric.heads, read_state_dict(linear_path), linear_path)
        metric.files = {
            "alexnet": {"path": str(net_path), "sha256": net_sha},
            "linear": {"path": str(linear_path), "sha256": sha256(linear_path)},
        }
        return metric

    @property
    def sha256(self) -> dict[str, str]:
        return {name: info["sha256"] for name, info in self.files.items()}

    def train(self, mode: bool = True) -> LPIPS:
        return super().train(False)  # a metric: always in eval mode

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # One backbone pass over both images: the same kernels see a and b.
        feats = self.net((torch.cat([a, b]) - self.shift) / self.scale)
        total = a.new_zeros(a.shape[0])
        for head, f in zip(self.heads, feats, strict=True):
            fa, fb = _unit_channels(f).chunk(2)
            diff = (fa - fb) ** 2
            total = total + head(diff).mean(dim=(1, 2, 3))
        return total


def _unit_channels(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.sqrt((x**2).sum(dim=1, keepdim=True)) + EPS)
