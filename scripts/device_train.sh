#!/usr/bin/env bash
# Continue the default model on a GPU machine (the `device` tool) and bring its state back.
#
# Here, first:   python scripts/device_pack.py pack data/shared .devpack --per-person 0 --format webp \
#                    --vgg ../shared/weights/vgg16_features_imagenet.safetensors
#                (the whole training set, ~50 MiB; with the 10 MiB working tree it fits the 64)
# Then, as the device command (carry: [".devpack"], timeout_s about 560):
#                bash scripts/device_train.sh 8
# What comes back under $OUT (at most 8 files, so each state travels as one tar):
#   state_best.tar  the compact training state (G, EMA, both Ds, state.json, config.yaml) of the
#                   checkpoint with the best trainer validation, when one beat the start
#   state_last.tar  the same for the last step, always
#   metrics.jsonl, train.log, env.txt
# Here: evaluate the states on the validation people (benchmarks/continuation_val.sh); copy the
# better one over src/mouthsynth/models/default_state when it improved, export, re-measure, log.
# ARM_B="--set model.expansion=8" trains a second arm beside the first for the same minutes on the
# same GPU (each with half the loader workers), from the same state on the same draws: a comparison
# at equal wall time that the CPU cannot run long enough. It comes back as arm_b.tar (its
# state_best/, state_last/, metrics.jsonl, train.log).
# DEVICE=cpu runs the same script here (a rehearsal: it checks the imports and the plumbing).
set -uo pipefail
MINUTES="${1:-7}"
shift || true
# Any further arguments go to `mouthsynth train` (e.g. --set model.expansion=8: the state is widened).
DEVICE="${DEVICE:-cuda}"
BATCH="${BATCH:-64}"
WORKERS="${WORKERS:-12}"
OUT="${OUT:-/tmp/out}"
# A state packed along (device_pack.py --state) is newer than the committed one: continue from it.
INIT=src/mouthsynth/models/default_state
[ -d .devpack/state ] && INIT=.devpack/state
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export MOUTHSYNTH_WEIGHTS_DIR="$PWD/.devpack"
python3 - > "$OUT/env.txt" 2>&1 <<'PY'
import os, torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "cpus", os.cpu_count())
if torch.cuda.is_available():
    print(torch.cuda.get_device_name(0))
PY
cat "$OUT/env.txt"
python3 scripts/device_pack.py unpack .devpack data/device || exit 3
ARM_B="${ARM_B:-}"
[ -n "$ARM_B" ] && WORKERS=$(( WORKERS / 2 > 0 ? WORKERS / 2 : 1 ))

# train RUN_DIR LOG [extra train args...]
# GPU recipe: the committed state's widths (32-channel discriminators) stay; batch 64 at the same
# learning rate; bf16 autocast (train.amp).
train() {
    local run="$1" log="$2"
    shift 2
    rm -rf "$run"
    python3 -m mouthsynth.cli.main train --data data/device --out "$run" \
        --config configs/train_default.yaml --init-from "$INIT" \
        --device "$DEVICE" --max-minutes "$MINUTES" \
        --set train.batch_size="$BATCH" --set train.num_workers="$WORKERS" --set train.val_every=200 \
        --set train.ckpt_every=200 --set train.log_every=20 --set train.keep_last=2 "$@" \
        2>&1 | tr '\r' '\n' | grep --line-buffered -v '%|' > "$log"
    return "${PIPESTATUS[0]}"
}

# states RUN_DIR DEST: the best and the last checkpoint as compact training states, one tar each.
states() {
    python3 - "$1" "$2" <<'PY'
import sys, tarfile
from pathlib import Path
from mouthsynth.training import checkpoint as ckpt
from mouthsynth.training.state import state_from_checkpoint
run, out = Path(sys.argv[1]), Path(sys.argv[2])
info = {"hardware": "NVIDIA H200 (device tool)"}
for tag, path in (("best", run / "checkpoints" / "best"), ("last", ckpt.latest_checkpoint(run))):
    if path is None or not Path(path).exists():
        print(f"{run}: no {tag} checkpoint")
        continue
    folder = Path("/tmp") / run.name / f"state_{tag}"
    state_from_checkpoint(path, folder, info)
    with tarfile.open(out / f"state_{tag}.tar", "w") as tar:
        tar.add(folder, arcname=f"state_{tag}")
    chosen = Path(path) / "best.json"
    print(f"{run}: state_{tag}.tar from", chosen.read_text() if chosen.is_file() else Path(path).name)
PY
}

if [ -n "$ARM_B" ]; then
    # shellcheck disable=SC2086  # ARM_B is a list of train arguments
    train runs/device_b /tmp/train_b.log "$@" $ARM_B &
    arm_b=$!
fi
train runs/device "$OUT/train.log" "$@"
status=$?
cat "$OUT/train.log"
cp runs/device/metrics.jsonl "$OUT/" 2>/dev/null
states runs/device "$OUT"
if [ -n "$ARM_B" ]; then
    wait "$arm_b" || status=$?
    mkdir -p /tmp/arm_b
    cp /tmp/train_b.log /tmp/arm_b/train.log
    cp runs/device_b/metrics.jsonl /tmp/arm_b/ 2>/dev/null
    states runs/device_b /tmp/arm_b
    (cd /tmp/arm_b && for t in state_*.tar; do tar -xf "$t" && rm "$t"; done)
    tar -cf "$OUT/arm_b.tar" -C /tmp arm_b
    echo "arm B ($ARM_B):"; grep -h "val" /tmp/arm_b/train.log | tail -n 5
fi
exit "$status"
