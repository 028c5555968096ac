#!/usr/bin/env bash
# Every figure that a new shipped model changes: the test people, never used to choose
# (README table, docs/results.md targets and grids), the video level on the validation
# clips (Telea, the default temporal filter and each frame on its own; results.md's video
# section), and the transfer benchmark with its strip picture. Run after `mouthsynth export` of
# the new default.
#   benchmarks/remeasure.sh OUT_DIR [BEFORE_TEST_JSON]   (about 8 minutes on 2 idle cores)
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"; before="${2:-}"
mkdir -p "$out"
export MOUTHSYNTH_WEIGHTS_DIR="${MOUTHSYNTH_WEIGHTS_DIR:-../shared/weights}"
ms=.venv/bin/mouthsynth
$ms evaluate data/shared --split test --json "$out/test.json" \
    --grid "$out/grid_test.png" --full-grid "$out/full_test.png" > "$out/test.log" 2>&1
.venv/bin/python benchmarks/targets.py "$out/test.json" ${before:+--before "$before"} > "$out/targets.md"
$ms evaluate data/shared --split val --level video --video-frames 40 --json "$out/video.json" \
    > "$out/video.log" 2>&1
.venv/bin/python benchmarks/transfer_follow.py --frames 100 --strip "$out/transfer_strip.jpg" \
    > "$out/transfer.md" 2> "$out/transfer.log"
$ms demo --overwrite -o "$out/demo_astronaut.png" > "$out/demo.log" 2>&1
echo "wrote $out: targets.md, video*.log, transfer.md, grids, demo"
