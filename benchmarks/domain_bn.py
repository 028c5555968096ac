"""Would the generator fill better with BatchNorm statistics measured on other draws?

The shipped EMA generator's BatchNorm statistics are measured on ``train.bn_batches`` training
draws: about four in five of them photos, at every training side. This writes a copy of a
training state whose statistics are measured on draws changed by ``--set`` data overrides
(``data.video_share=0.95``: mostly video frames; ``data.sizes=128``: the 128-px side alone),
for `benchmarks/continuation_val.sh` to score on the validation people. The test people are
never used. With no override it reproduces the state's own statistics.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/domain_bn.py \
        src/mouthsynth/models/default_state runs/bn_video --data data/shared --set data.video_share=0.95
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import save_file

from mouthsynth.config import load_config
from mouthsynth.training.trainer import Trainer


def measure(state: Path, out: Path, data: Path, overrides: list[str]) -> None:
    if out.exists():
        raise SystemExit(f"{out}: exists; not replaced")
    cfg = load_config(state / "config.yaml", overrides)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, data, Path(tmp) / "run", progress=False, init_from=state)
        trainer.refresh_ema_bn()
        tensors = {k: v.detach().contiguous().clone() for k, v in trainer.ema.model.state_dict().items()}
    staging = out.with_name(f".tmp-{out.name}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(state.resolve(), staging)
    save_file(tensors, str(staging / "generator_ema.safetensors"))
    meta_path = staging / "state.json"
    meta = json.loads(meta_path.read_text())
    drawn = ", ".join(overrides) or "the state's own draws"
    meta["bn"] = f"EMA statistics measured on training draws with {drawn} (benchmarks/domain_bn.py)"
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    staging.rename(out)
    print(f"{out}: BatchNorm statistics measured with {drawn}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("state", type=Path, help="a training state or checkpoint directory")
    ap.add_argument("out", type=Path, help="the copy to write (must not exist)")
    ap.add_argument("--data", type=Path, required=True, help="the prepared dataset it trained on")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a data override")
    args = ap.parse_args()
    measure(args.state, args.out, args.data, args.set)


if __name__ == "__main__":
    main()
