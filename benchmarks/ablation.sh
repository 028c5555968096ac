#!/usr/bin/env bash
# Ablation: what each part of the design buys. Five runs of equal length, each adding one part:
# L1 only; + perceptual; + global D; + local D; + feature matching (the full system).
# Usage: benchmarks/ablation.sh DATASET OUT_DIR [STEPS]
set -euo pipefail
data="$1"; out="$2"; steps="${3:-1000}"
ms=".venv/bin/mouthsynth"
export MOUTHSYNTH_WEIGHTS_DIR="${MOUTHSYNTH_WEIGHTS_DIR:-../shared/weights}"
off="--set losses.adv_global=0 --set losses.adv_local=0 --set losses.fm_global=0 --set losses.fm_local=0"
declare -A runs=(
  [1_l1]="--set losses.perceptual=0 $off"
  [2_perceptual]="$off"
  [3_global_d]="--set losses.adv_local=0 --set losses.fm_global=0 --set losses.fm_local=0"
  [4_local_d]="--set losses.fm_global=0 --set losses.fm_local=0"
  [5_full]=""
)
for name in $(printf '%s\n' "${!runs[@]}" | sort); do
  run="$out/$name"
  if [ ! -f "$run/done" ]; then
    rm -rf "$run"
    # shellcheck disable=SC2086
    $ms train --data "$data" --out "$run" --config configs/ablation.yaml ${runs[$name]} --max-steps "$steps"
    touch "$run/done"
  fi
  $ms export "$run" -o "$run/model.onnx" --overwrite
  $ms evaluate "$data" --model "$run/model.onnx" --baselines telea --max-samples 240 --json "$run/eval.json"
done
