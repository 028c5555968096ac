#!/usr/bin/env bash
# The numbers of the README's performance section: generator cost and speed (ONNX Runtime,
# PyTorch, OpenCV Telea on the same crops, same process) and the 720p video pipeline by stage.
# Usage: benchmarks/run.sh [OUT_DIR]   (run on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results}"
mkdir -p "$out"
.venv/bin/mouthsynth bench --repeats 20 \
    --video ../shared/data/videos/liveportrait_d13.mp4 --max-frames 300 \
    --json "$out/bench_$(date +%Y%m%d).json"
