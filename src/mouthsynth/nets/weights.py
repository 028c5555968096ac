"""Finding and loading pretrained backbone weights, safely.

Search order for every backbone: an explicitly configured file, then the folder named by
``$MOUTHSYNTH_WEIGHTS_DIR``, then torch's hub cache. Files are safetensors or torchvision
``.pth`` state dicts read with ``weights_only=True``: nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn

from mouthsynth.errors import ModelError

WEIGHTS_ENV = "MOUTHSYNTH_WEIGHTS_DIR"


def hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def candidates(
    file_names: list[str], configured: str | Path | None = None, folder: str | Path | None = None
) -> list[Path]:
    """Every place searched, in order: a configured file, a given folder, $MOUTHSYNTH_WEIGHTS_DIR,
    torch's hub cache."""
    places: list[Path] = []
    if configured:
        places.append(Path(configured).expanduser())
    if folder:
        places += [Path(folder).expanduser() / name for name in file_names]
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        places += [Path(env).expanduser() / name for name in file_names]
    places += [hub_dir() / name for name in file_names]
    return places


def find_weights(
    file_names: list[str], configured: str | Path | None = None, folder: str | Path | None = None
) -> Path | None:
    for path in candidates(file_names, configured, folder):
        if path.is_file():
            return path
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise ModelError(f"{path}: not a state dict")
    return state


def load_into(module: nn.Module, state: dict[str, torch.Tensor], path: Path, prefix: str = "") -> None:
    """Load ``state`` (keys may carry extra entries, e.g. a whole VGG's classifier) into
    ``module``, checking that every expected tensor is there with the right shape."""
    own = module.state_dict()
    picked = {}
    for key, tensor in own.items():
        source_key = prefix + key
        if source_key not in state:
            raise ModelError(f"{path}: missing tensor '{source_key}'")
        if tuple(state[source_key].shape) != tuple(tensor.shape):
            raise ModelError(
                f"{path}: tensor '{source_key}' has shape {tuple(state[source_key].shape)}, "
                f"expected {tuple(tensor.shape)}"
            )
        picked[key] = state[source_key]
    module.load_state_dict(picked)
