"""The compact training state committed beside the shipped model, so training accumulates.

A state folder holds what a later run on a fresh machine needs to continue the default model:
``generator.safetensors``, ``generator_ema.safetensors``, ``disc_<name>.safetensors`` (weights
only; optimiser moments are rebuilt, which is why a continued run starts with a short
discriminator warm-up) and ``state.json`` (cumulative steps, the config it was trained with).
It is written into a temporary folder and renamed into place: never half-written.

The discriminators are stored in half precision: they are a continued run's starting point, not
a product, and their optimiser restarts anyway; rounding them to float16 (relative error under
1e-3) halves them and keeps a state with a wider generator inside the ~10 MB budget per committed
update. The generator and its EMA (the exported model) stay float32.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from mouthsynth.errors import ModelError

STATE_FILE = "state.json"
HALF_PRECISION_PREFIXES = ("disc_",)


def _stored(name: str, tensor: torch.Tensor) -> torch.Tensor:
    tensor = tensor.detach().cpu().contiguous().clone()
    if name.startswith(HALF_PRECISION_PREFIXES) and tensor.dtype == torch.float32:
        return tensor.half()
    return tensor


def save_state(folder: Path, modules: dict[str, torch.nn.Module], info: dict) -> Path:
    """Write ``modules`` (name -> network) and ``info`` (must hold ``step``) atomically."""
    folder = Path(folder)
    if "step" not in info:
        raise ValueError("training state info needs the cumulative 'step'")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".tmp-{folder.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, module in modules.items():
            tensors = {k: _stored(name, v) for k, v in module.state_dict().items()}
            save_file(tensors, str(tmp / f"{name}.safetensors"))
        (tmp / STATE_FILE).write_text(json.dumps({**info, "modules": sorted(modules)}, indent=1) + "\n")
        old = folder.with_name(f".old-{folder.name}")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def read_state_info(folder: Path) -> dict:
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: not a training state (no {STATE_FILE})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from exc


def load_state(
    folder: Path, modules: dict[str, torch.nn.Module], adapt: Callable | None = None
) -> tuple[dict, list[str]]:
    """Load every module whose weights the state holds; returns (info, names loaded). A module
    the state lacks (e.g. a discriminator the earlier run did not build) keeps its fresh weights;
    weights that do not fit the network are an error naming the file. ``adapt(name, tensors,
    module)``, where given, may reshape the tensors to fit first (a wider generator), or return
    None to keep the module's fresh weights (a discriminator of another width)."""
    folder = Path(folder)
    info = read_state_info(folder)
    loaded = []
    for name, module in modules.items():
        path = folder / f"{name}.safetensors"
        if not path.is_file():
            continue
        try:
            tensors = load_file(str(path))
        except Exception as exc:
            raise ModelError(f"{path}: not a readable safetensors file ({exc})") from exc
        try:
            if adapt is not None:
                tensors = adapt(name, tensors, module)
                if tensors is None:
                    continue
            # load_state_dict copies into the module's own tensors: float16 comes back as float32.
            module.load_state_dict(tensors, strict=True)
        except (RuntimeError, ValueError) as exc:
            first = str(exc).splitlines()[0]
            raise ModelError(f"{path}: weights do not fit this network ({first})") from exc
        loaded.append(name)
    if "generator" not in loaded:
        raise ModelError(f"{folder}: training state has no generator.safetensors")
    return info, loaded


def state_from_checkpoint(checkpoint: Path, folder: Path, info: dict | None = None) -> Path:
    """The compact state of a full checkpoint (``RUN/checkpoints/best`` or ``step_N``): its
    weights, not its optimiser moments, with its step, metrics and config; ``info`` adds fields
    to its state.json (e.g. the shipped model's step and why it ships, from `export`)."""
    checkpoint = Path(checkpoint)
    meta_path = checkpoint / "state.json"
    if not meta_path.is_file():
        raise ModelError(f"{checkpoint}: not a checkpoint folder (no state.json)")
    meta = json.loads(meta_path.read_text())
    modules: dict[str, dict[str, torch.Tensor]] = {}
    for path in sorted(checkpoint.glob("*.safetensors")):
        modules[path.stem] = load_file(str(path))
    if "generator" not in modules:
        raise ModelError(f"{checkpoint}: checkpoint has no generator.safetensors")

    class _Weights(torch.nn.Module):  # save_state takes modules; these are plain tensors
        def __init__(self, tensors: dict[str, torch.Tensor]):
            super().__init__()
            self.tensors = tensors

        def state_dict(self, *args, **kwargs):  # noqa: ARG002
            return self.tensors

    record = {
        "step": meta["step"],
        "metrics": meta.get("metrics", {}),
        "from_checkpoint": checkpoint.name,
        **{k: meta[k] for k in ("perceptual_net", "perceptual_sha256") if k in meta},
        **(info or {}),
    }
    saved = save_state(folder, {k: _Weights(v) for k, v in modules.items()}, record)
    if (checkpoint / "config.yaml").is_file():
        shutil.copyfile(checkpoint / "config.yaml", saved / "config.yaml")
    return saved
