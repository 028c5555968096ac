#!/usr/bin/env bash
# Score a training checkpoint the way a continuation is judged before it may ship: export it to a
# scratch ONNX model and run `mouthsynth evaluate --split val` against Telea (validation people
# only; the test people are never used to choose). Prints the video/photo crop L1 ratios and the
# full-resolution figures that decide an export, then the mouth-motion transfer's wide "O" pair
# (validation drivers), the pair a fill most easily loses (continuation 24's step 18,500 read it at
# 0.66 where 0.8 is asked), so a candidate that breaks it is seen before it is chosen.
# The pair reads to about +-0.02: the shipped ONNX and its re-export from the committed state,
# equal to 9e-7, read 0.83 and 0.81 (continuation 25).
#   benchmarks/continuation_val.sh NAME CHECKPOINT [OUT_DIR]   e.g. x100 runs/cont14a/checkpoints/step_0010500
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"; checkpoint="$2"; out="${3:-runs/val}"
mkdir -p "$out"
export MOUTHSYNTH_WEIGHTS_DIR="${MOUTHSYNTH_WEIGHTS_DIR:-../shared/weights}"
.venv/bin/mouthsynth export "$checkpoint" -o "$out/$name.onnx" --overwrite > "$out/$name.export.log" 2>&1
.venv/bin/mouthsynth evaluate data/shared --split val --baselines telea --model "$out/$name.onnx" \
    --json "$out/$name.json" > "$out/$name.log" 2>&1
.venv/bin/python benchmarks/targets.py "$out/$name.json" --digits 3 | tee "$out/$name.md"
.venv/bin/python benchmarks/transfer_follow.py --frames 100 --pairs 0 --model "$out/$name.onnx" \
    2> "$out/$name.transfer.log" | tee -a "$out/$name.md"
