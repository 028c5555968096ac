"""Average the EMA generators of checkpoints that share a start (arms of one continuation, or
neighbouring steps of one run) into a new checkpoint, then measure its BatchNorm statistics and
validate it, so `mouthsynth export OUT` ships it with its card.

Arms continued from the same state for a few thousand steps at a small learning rate stay in one
basin, where the mean of their weights often scores better than either ("model soups"); whether
it does here is for validation to say. Only the EMA generator is averaged (what export ships);
the rest of the copy, discriminators included, is the first checkpoint's, and its BatchNorm
running statistics are measured afresh on the averaged network (scripts/refresh_bn.py).

    python scripts/average_checkpoints.py runs/a/checkpoints/step_N runs/b/checkpoints/step_M \
        --out runs/soup --data data/shared
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import torch
from refresh_bn import refresh
from safetensors.torch import load_file, save_file


def average(paths: list[Path], weights: list[float]) -> dict[str, torch.Tensor]:
    """The weighted mean of the checkpoints' EMA generators (integer buffers: the first's)."""
    states = [load_file(str(p / "generator_ema.safetensors")) for p in paths]
    keys = set(states[0])
    if any(set(s) != keys for s in states[1:]):
        raise SystemExit("the checkpoints' generators differ in their parameters; cannot average")
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = sum(w * s[key].double() for w, s in zip(weights, states, strict=True)).to(first.dtype)
        else:
            out[key] = first.clone()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", type=Path, nargs="+", help="checkpoints/step_N folders")
    ap.add_argument("--out", type=Path, required=True, help="the checkpoint to write (must not exist)")
    ap.add_argument("--data", type=Path, required=True, help="the prepared dataset they trained on")
    ap.add_argument("--weights", type=float, nargs="+", help="one per checkpoint (default: equal)")
    args = ap.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out}: exists; not replaced")
    if args.weights and len(args.weights) != len(args.checkpoints):
        raise SystemExit("--weights needs one weight per checkpoint")
    weights = args.weights or [1.0 / len(args.checkpoints)] * len(args.checkpoints)
    averaged = average(args.checkpoints, weights)
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "averaged"
        shutil.copytree(args.checkpoints[0].resolve(), staging)
        save_file(averaged, str(staging / "generator_ema.safetensors"))
        meta = json.loads((staging / "state.json").read_text())
        meta["averaged_from"] = [str(p) for p in args.checkpoints]
        meta["averaged_weights"] = weights
        (staging / "state.json").write_text(json.dumps(meta, indent=1) + "\n")
        refresh(staging, args.out, args.data)


if __name__ == "__main__":
    main()
