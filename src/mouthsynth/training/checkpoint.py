"""Checkpoints: the full training state, written atomically, read without unpickling.

A checkpoint is a folder ``RUN/checkpoints/step_XXXXXXX/``:
- ``generator.safetensors``, ``generator_ema.safetensors``, ``disc_<name>.safetensors``: weights;
- ``optim.pt``: optimiser states and torch RNG states, plain tensors and containers only, read
  back with ``torch.load(weights_only=True)``;
- ``state.json``: step, epoch, numpy/python RNG states, metrics; ``config.yaml``: the run's config.
It is written into a hidden temporary folder and renamed into place, so an interrupted save never
leaves a half-written checkpoint; ``latest`` names the newest complete one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mouthsynth.errors import ModelError

PREFIX = "step_"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _state_dict_for_safetensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def rng_state() -> tuple[dict, dict]:
    """(tensors for optim.pt, JSON-able dict) of every RNG the run uses."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state_all()
    np_state = np.random.get_state()
    py_state = random.getstate()
    plain = {
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    return tensors, plain


def set_rng_state(tensors: dict, plain: dict) -> None:
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(tensors["cuda"])
    n = plain["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    p = plain["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


@dataclass
class Checkpoint:
    path: Path
    step: int


def save_checkpoint(
    run_dir: Path,
    step: int,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    state: dict,
    config_yaml: str,
    keep_last: int = 3,
    fail_after: str | None = None,
) -> Path:
    """Write the checkpoint for ``step`` atomically and prune old ones (``best`` is kept).
    ``fail_after`` names a file after which to raise, so tests can simulate a crash."""
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"{PREFIX}{step:07d}"
    tmp = root / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for key, module in modules.items():
            save_file(_state_dict_for_safetensors(module), str(tmp / f"{key}.safetensors"))
            if fail_after == key:
                raise RuntimeError(f"simulated crash after writing {key}")
        rng_tensors, rng_plain = rng_state()
        torch.save(
            {"optimizers": {k: o.state_dict() for k, o in optimizers.items()}, "rng": rng_tensors},
            tmp / "optim.pt",
        )
        (tmp / "state.json").write_text(json.dumps({**state, "step": step, "rng": rng_plain}))
        (tmp / "config.yaml").write_text(config_yaml)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        final = root / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_pointer(root / "latest", name)
    prune(root, keep_last)
    return final


def _write_pointer(path: Path, name: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(name + "\n")
    os.replace(tmp, path)


def mark_best(run_dir: Path, checkpoint: Path, metric: str, value: float) -> Path:
    """Copy ``checkpoint`` to ``checkpoints/best`` atomically, with the metric that chose it."""
    root = run_dir / "checkpoints"
    tmp = root / ".tmp-best"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(checkpoint, tmp)
    (tmp / "best.json").write_text(json.dumps({"metric": metric, "value": value, "from": checkpoint.name}))
    old = root / ".old-best"
    shutil.rmtree(old, ignore_errors=True)
    if (root / "best").exists():
        os.replace(root / "best", old)
    os.replace(tmp, root / "best")
    shutil.rmtree(old, ignore_errors=True)
    return root / "best"


def prune(root: Path, keep_last: int) -> None:
    steps = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX))
    for old in steps[: max(0, len(steps) - keep_last)]:
        shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(run_dir: Path) -> Path | None:
    root = run_dir / "checkpoints"
    pointer = root / "latest"
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if (candidate / "state.json").is_file():
            return candidate
    steps = (
        sorted(p for p in root.glob(f"{PREFIX}*") if (p / "state.json").is_file()) if root.is_dir() else []
    )
    return steps[-1] if steps else None


def load_weights(path: Path, module: torch.nn.Module) -> None:
    if not path.is_file():
        raise ModelError(f"{path}: weights file missing")
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from exc
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelError(
            f"{path}: weights do not match the network (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )


def load_checkpoint(
    checkpoint: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer]
) -> dict:
    """Restore modules, optimisers and RNGs; returns state.json."""
    for key, module in modules.items():
        load_weights(checkpoint / f"{key}.safetensors", module)
    blob = torch.load(checkpoint / "optim.pt", map_location="cpu", weights_only=True)
    for key, opt in optimizers.items():
        opt.load_state_dict(blob["optimizers"][key])
    state = json.loads((checkpoint / "state.json").read_text())
    set_rng_state(blob["rng"], state["rng"])
    return state
