"""AlexNet convolutional features with torchvision's parameter names, the LPIPS backbone."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mouthsynth.errors import ModelError
from mouthsynth.nets.weights import candidates, find_weights, load_into, read_state_dict, sha256

# This project's safetensors copy first, then torchvision's own file name.
FILE_NAMES = ["alexnet_features_imagenet.safetensors", "alexnet-owt-7be5be79.pth"]


class AlexNetFeatures(nn.Module):
    """Frozen ``torchvision.models.alexnet().features``; returns relu1 ... relu5."""

    TAPS = (1, 4, 7, 9, 11)
    CHANNELS = (64, 192, 384, 256, 256)

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
        )
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> AlexNetFeatures:
        return super().train(False)  # a fixed metric backbone: always in eval mode

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.TAPS:
                out.append(x)
        return out


def load_alexnet(
    configured: str | Path | None = None, folder: str | Path | None = None
) -> tuple[AlexNetFeatures, Path, str]:
    """The ImageNet AlexNet features, its weights file and that file's sha256; ModelError naming
    every place searched when none is found."""
    path = find_weights(FILE_NAMES, configured, folder)
    if path is None:
        searched = ", ".join(str(p) for p in candidates(FILE_NAMES, configured, folder))
        raise ModelError(f"no ImageNet AlexNet weights found; searched: {searched}")
    net = AlexNetFeatures()
    load_into(net, read_state_dict(path), path)
    return net, path, sha256(path)
