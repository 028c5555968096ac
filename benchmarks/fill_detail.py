"""The detail stage of the photo paste-back (``inference.fill_upsampling``, ``fill_detail``,
``fill_detail_sigma``) measured at full resolution, as ``mouthsynth evaluate --level both``
measures photos: same samples, same hidden interior, same scores (``fullres.score_full``).

Every setting is scored on the same samples in one run: landmarks are found once per photo and
the generator runs once per mouth (the stage acts after generation), so only the paste-back
differs between settings. Use it on the validation split only.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/fill_detail.py data/shared \\
        --split val --json fill_detail.json --setting linear,0,1 --setting cubic,0.5,1
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np

from mouthsynth.config import load_config, set_value
from mouthsynth.evaluation import fullres
from mouthsynth.evaluation.people import method_differences
from mouthsynth.geometry.mouth import mouth_axes
from mouthsynth.inference.synthesizer import MouthSynthesizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", default=None)
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        help="upsampling,detail,sigma[,from,full] (linear,0,1 is the old paste-back); repeatable",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--max-samples", type=int, default=None)
    parser.add_argument("--telea", action="store_true", help="score OpenCV Telea as well")
    parser.add_argument("--videos", type=int, default=0, help="also every Nth frame of the videos")
    args = parser.parse_args()
    settings = [(tuple(s.split(",")) + ("0", "0"))[:5] for s in (args.setting or ["linear,0,1"])]

    cfg = load_config()
    min_open = cfg.data.min_open
    meta = args.data / "dataset.json"
    if meta.is_file():
        min_open = float(json.loads(meta.read_text()).get("min_open", min_open))
    synth = MouthSynthesizer(args.model, config=copy.deepcopy(cfg))
    generate = synth.generate
    cache: dict[str, dict] = {}
    current = {"id": ""}

    def cached_generate(crops):  # one generator run per mouth, whatever the setting
        key = current["id"]
        if key not in cache:
            done = generate(crops)
            cache.clear()
            cache[key] = {"by_order": [done[id(c)] for c in crops]}
        return {id(c): g for c, g in zip(crops, cache[key]["by_order"], strict=True)}

    synth.generate = cached_generate

    labels = [
        f"{u} detail={d} sigma={s}" + (f" from={a} full={b}" if a != "0" or b != "0" else "")
        for u, d, s, a, b in settings
    ]
    result = fullres.FullEvaluation(labels + (["telea"] if args.telea else []))
    factors = []
    lpips = fullres.lpips_or_reason(result.unavailable)
    sources = fullres.prepared_sources(args.data, args.split, args.videos > 0)
    every = args.videos or fullres.VIDEO_EVERY
    samples = fullres.iter_samples(
        sources, synth.landmarks, synth.cfg.geometry, min_open, every, result.errors.append
    )
    for sample in samples:
        current["id"] = sample.id
        outputs = fullres.run_full_methods(sample, None, ["telea"]) if args.telea else {}
        lips = sample.landmarks.outer_lip
        side = synth.cfg.geometry.global_scale * float(mouth_axes(lips.astype("float64"))[2])
        factors.append(side / synth.crop_side(lips))
        for label, (up, detail, sigma, start, full) in zip(labels, settings, strict=True):
            set_value(synth.cfg, "inference.fill_upsampling", up)
            set_value(synth.cfg, "inference.fill_detail", detail)
            set_value(synth.cfg, "inference.fill_detail_sigma", sigma)
            set_value(synth.cfg, "inference.fill_detail_from", start)
            set_value(synth.cfg, "inference.fill_detail_full", full)
            outputs[label] = fullres.run_full_methods(sample, synth, [], ("alpha",))["model"]
        result.add(sample, outputs, lpips, keep_tiles=False)
        print(f"\r{len(result)} samples", end="", file=sys.stderr, flush=True)
        if args.max_samples and len(result) >= args.max_samples:
            break
    print(file=sys.stderr)
    summary = result.summary()
    people = len(set(result.people))
    print(f"{len(result)} samples, {people} people (people-weighted means)")
    lo, mid, hi = min(factors), float(np.median(factors)), max(factors)
    print(f"enlargement (photo px per crop px): median {mid:.2f}, range {lo:.2f}-{hi:.2f}")
    print("| setting | L1 | SSIM | LPIPS | sharpness |")
    for label in result.methods:
        row = summary[label]
        print(
            f"| {label} | {row['l1']['mean']:.4f} | {row['ssim']['mean']:.4f} | "
            f"{row.get('lpips', {}).get('mean', float('nan')):.4f} | {row['sharpness']['mean']:.3f} |"
        )
    base = labels[0]
    diffs = method_differences(result.per_sample, result.people, [(label, base) for label in labels[1:]])
    for key, row in diffs.items():
        d = row["lpips"]
        print(f"{key}: LPIPS diff {d['mean']:+.4f} [{d['ci95_low']:+.4f}, {d['ci95_high']:+.4f}]")
    if args.json:
        report = result.to_json()
        report["enlargement"] = factors
        args.json.write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
