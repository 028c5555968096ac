"""VGG16 / VGG19 convolutional features written in the project, with torchvision's parameter
names (``features.0.weight`` ...), so the standard ImageNet state dicts load unchanged.

Only the layers up to relu5_1 are built: the perceptual loss taps relu1_1 ... relu5_1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mouthsynth.errors import ConfigError, ModelError
from mouthsynth.nets.weights import candidates, find_weights, load_into, read_state_dict, sha256

log = logging.getLogger(__name__)

# torchvision's configurations: channels, "M" = max-pool.
LAYOUTS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}
# Where the weights may be found, by file name: this project's safetensors copy, torchvision's file.
FILE_NAMES = {
    "vgg16": ["vgg16_features_imagenet.safetensors", "vgg16-397923af.pth"],
    "vgg19": ["vgg19_features_imagenet.safetensors", "vgg19-dcbb9e9d.pth"],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def tap_indices(layout: list) -> list[int]:
    """Indices in ``features`` of relu1_1, relu2_1, ..., relu5_1: the ReLU after the first conv
    of each block."""
    taps, index, first_in_block = [], 0, True
    for item in layout:
        if item == "M":
            index += 1
            first_in_block = True
            continue
        if first_in_block:
            taps.append(index + 1)
            first_in_block = False
        index += 2
    return taps


class VGGFeatures(nn.Module):
    """Frozen feature extractor returning the five relu*_1 activations of ImageNet-normalised
    inputs given in [-1, 1]."""

    def __init__(self, name: str = "vgg19"):
        super().__init__()
        if name not in LAYOUTS:
            raise ConfigError(f"config key 'losses.perceptual_net': unknown network {name!r}")
        self.name = name
        layout = LAYOUTS[name]
        self.taps = tap_indices(layout)
        layers: list[nn.Module] = []
        in_ch = 3
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_ch, item, 3, padding=1), nn.ReLU(inplace=False)]
                in_ch = item
        self.features = nn.Sequential(*layers[: self.taps[-1] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always frozen, always in eval mode

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out


@dataclass
class Backbone:
    net: VGGFeatures
    path: Path | None
    sha256: str | None


def vgg_layout(state_dict) -> str:
    """Which VGG a features state dict is: VGG19 has conv3_4 at ``features.16``, where VGG16
    has a max-pool."""
    return "vgg19" if "features.16.weight" in state_dict else "vgg16"


def resolve_perceptual_net(name: str, configured: str | Path | None = None) -> str:
    """'auto' -> vgg19 where its ImageNet weights are found (the design's network), else vgg16;
    logs the choice. A configured file decides by its own layout (``vgg_layout``)."""
    if name != "auto":
        return name
    if configured and Path(configured).is_file():
        chosen = vgg_layout(read_state_dict(Path(configured)))
    elif find_weights(FILE_NAMES["vgg19"], configured):
        chosen = "vgg19"
    elif find_weights(FILE_NAMES["vgg16"], configured):
        chosen = "vgg16"
    else:
        return "vgg19"  # nothing found: the error then names VGG19, the design's network
    if chosen == "vgg16" and not configured:
        log.warning(
            "perceptual loss: no ImageNet VGG19 weights found, using VGG16 (losses.perceptual_net=auto)"
        )
    else:
        log.info("perceptual loss: using %s (losses.perceptual_net=auto)", chosen.upper())
    return chosen


def load_vgg(name: str, configured: str | Path | None = None, allow_random: bool = False) -> Backbone:
    """A pretrained VGG feature extractor. Random weights only with ``allow_random`` (unit tests)."""
    name = resolve_perceptual_net(name, configured)
    net = VGGFeatures(name)
    path = find_weights(FILE_NAMES[name], configured)
    if path is None:
        if allow_random:
            return Backbone(net, None, None)
        searched = ", ".join(str(p) for p in candidates(FILE_NAMES[name], configured))
        hint = (
            " (losses.perceptual_net=vgg16 is available where VGG16 weights are)" if name == "vgg19" else ""
        )
        raise ModelError(f"no ImageNet {name.upper()} weights found; searched: {searched}{hint}")
    load_into(net, read_state_dict(path), path)
    return Backbone(net, path, sha256(path))


def check_weights(name: str, path: Path) -> None:
    """Raise ModelError unless ``path`` loads into ``name`` with every shape right."""
    load_into(VGGFeatures(name), read_state_dict(path), path)


__all__ = [
    "Backbone",
    "ModelError",
    "VGGFeatures",
    "check_weights",
    "load_vgg",
    "resolve_perceptual_net",
    "tap_indices",
]
