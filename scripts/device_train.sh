#!/usr/bin/env bash
# Continue the default model on a GPU machine (the `device` tool) and bring its state back.
#
# Here, first:   python scripts/device_pack.py pack data/shared .devpack \
#                    --vgg ../shared/weights/vgg16_features_imagenet.safetensors
# Then, as the device command (carry: [".devpack"], timeout_s about 540):
#                bash scripts/device_train.sh 6
# What comes back under $OUT: state/ (the compact training state: G, EMA, both Ds, state.json,
# config.yaml), metrics.jsonl, train.log. Here: copy $OUT/state over src/mouthsynth/models/default_state
# when its validation improved, export, evaluate, and append the run to the training log.
set -euo pipefail
MINUTES="${1:-6}"
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export MOUTHSYNTH_WEIGHTS_DIR="$PWD/.devpack"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
python3 scripts/device_pack.py unpack .devpack data/device
# GPU recipe: the design's 64-channel discriminators would not fit the committed 32-channel state,
# so the state's widths stay; batch 64 at the same learning rate; bf16 autocast (train.amp).
set +e
python3 -m mouthsynth.cli.main train --data data/device --out runs/device \
    --config configs/train_default.yaml --init-from src/mouthsynth/models/default_state \
    --device cuda --max-minutes "$MINUTES" \
    --set train.batch_size=64 --set train.num_workers=8 --set train.val_every=200 \
    --set train.ckpt_every=200 --set train.log_every=20 2>&1 | tr '\r' '\n' | grep -v '%|' | tee "$OUT/train.log"
status=${PIPESTATUS[0]}
set -e
cp runs/device/metrics.jsonl "$OUT/" 2>/dev/null || true
if [ -d runs/device/checkpoints/best ]; then
    python3 -c "
from mouthsynth.training.state import state_from_checkpoint
state_from_checkpoint('runs/device/checkpoints/best', '$OUT/state', {'hardware': 'NVIDIA H200 (device tool)'})
print('state written')"
fi
exit "$status"
