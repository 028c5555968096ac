"""Give a checkpoint written before `train.bn_batches` existed the EMA generator's own BatchNorm
statistics, as training now measures them before every validation.

Until then the EMA generator carried the live generator's running statistics over its last ~10
batches, a draw that moved validation L1 by +-0.005 between neighbouring checkpoints. This writes
a copy of the checkpoint whose EMA statistics are measured on the EMA generator over
`train.bn_batches` fixed training batches, validates it, and records that validation in the
copy's state.json, so `mouthsynth export COPY` ships it with its card.

    python scripts/refresh_bn.py runs/cont6/checkpoints/step_0005700 runs/cont6_pbn --data data/shared

It also takes a committed training state, and ``--set`` data overrides measure the statistics on
other draws (``data.video_share=0.95``: mostly video frames; ``data.sizes=128``: the 128-px side
alone), for `benchmarks/continuation_val.sh` to score the copy on the validation people:

    python scripts/refresh_bn.py src/mouthsynth/models/default_state runs/bn_video --data data/shared \
        --set data.video_share=0.95
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import save_file

from mouthsynth.config import load_config
from mouthsynth.training.state import state_from_checkpoint
from mouthsynth.training.trainer import Trainer


def refresh(checkpoint: Path, out: Path, data: Path, overrides: list[str] | None = None) -> dict:
    """Write a copy of ``checkpoint`` (or training state) at ``out`` whose EMA generator carries
    its own BatchNorm statistics, measured on the training draws of its config with
    ``overrides``, and whose state.json records their validation; returns it."""
    if out.exists():
        raise SystemExit(f"{out}: exists; not replaced")
    overrides = list(overrides or [])
    cfg = load_config(checkpoint / "config.yaml", overrides)
    with tempfile.TemporaryDirectory() as tmp:
        state = state_from_checkpoint(checkpoint, Path(tmp) / "state")
        trainer = Trainer(cfg, data, Path(tmp) / "run", progress=False, init_from=state)
        val = trainer.validate()
        staging = out.with_name(f".tmp-{out.name}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(checkpoint.resolve(), staging)
        tensors = {k: v.detach().contiguous().clone() for k, v in trainer.ema.model.state_dict().items()}
        save_file(tensors, str(staging / "generator_ema.safetensors"))
        meta = json.loads((staging / "state.json").read_text())
        meta["metrics_copied_bn"] = meta.get("metrics", {})
        meta["metrics"] = val
        drawn = f" with {', '.join(overrides)}" if overrides else ""
        batches = f"{cfg.train.bn_batches} training batches{drawn}"
        meta["bn"] = f"EMA statistics measured on {batches} (scripts/refresh_bn.py)"
        (staging / "state.json").write_text(json.dumps(meta, indent=1) + "\n")
        staging.rename(out)
    copied = meta["metrics_copied_bn"].get("val/l1")
    print(f"{out}: val/l1 {val['val/l1']:.4f} (copied statistics: {copied})")
    return val


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path, help="a run's checkpoints/step_N (or best), or a training state")
    ap.add_argument("out", type=Path, help="the copy to write (must not exist)")
    ap.add_argument("--data", type=Path, required=True, help="the prepared dataset it trained on")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a data override")
    args = ap.parse_args()
    refresh(args.checkpoint, args.out, args.data, args.set)


if __name__ == "__main__":
    main()
