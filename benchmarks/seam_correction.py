"""The border colour correction of the alpha paste-back, swept on the validation people.

``inference.compositing.match_border`` moves the fill's colour at the interior's edge to the
known pixels just outside, by at most ``max_correction`` levels, fading over ``depth`` px (of the
128-px crop) inward. The model runs once per crop; every setting is then pasted and scored at
crop level (L1 and LPIPS against Telea's, median sharpness), video and photo people apart, each
person weighing the same. The test people are never used.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/seam_correction.py [MODEL.onnx] \
        [--max 12,24,48] [--depth 3,6,12]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mouthsynth.config import load_config
from mouthsynth.evaluation import metrics as M
from mouthsynth.evaluation.baselines import get_baseline
from mouthsynth.evaluation.evaluate import Evaluation, _composite, _crop_of, _lpips_or_reason, load_samples
from mouthsynth.inference.compositing import BorderMatch, match_border
from mouthsynth.inference.onnx_generator import OnnxGenerator
from mouthsynth.inference.synthesizer import default_model_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(default_model_path()))
    parser.add_argument("--data", default="data/shared")
    parser.add_argument("--max", default="12,24,48", help="Largest corrections (levels), comma-separated.")
    parser.add_argument("--depth", default="3,6,12", help="Depths (px of the 128-px crop), comma-separated.")
    args = parser.parse_args()

    generator = OnnxGenerator(args.model, threads=1)
    samples = load_samples(Path(args.data), "val", 128, None, load_config())
    crops = [_crop_of(s) for s in samples]
    whites = np.stack([c.white_filled for c in crops])
    masks = np.stack([s.mask for s in samples])
    fills = np.concatenate(
        [generator.run_crops(whites[i : i + 32], masks[i : i + 32]) for i in range(0, len(samples), 32)]
    )
    settings = {"none": None} | {
        f"{m:g} levels, {d:g} px": (m, d)
        for m in map(float, args.max.split(","))
        for d in map(float, args.depth.split(","))
    }
    frames: dict[str, set[int]] = {}
    for s in samples:
        frames.setdefault(s.person, set()).add(s.frame)
    is_video = np.array([len(frames[s.person]) > 1 for s in samples])  # as benchmarks/targets.py
    people = np.array([s.person for s in samples])
    lpips = _lpips_or_reason(Evaluation("", {}, [], []))

    def scores(pasted: list[np.ndarray]) -> dict[str, np.ndarray]:
        pairs = list(zip(pasted, samples, strict=True))
        return {
            "l1": np.array([M.masked_l1(o, s.image, s.mask) for o, s in pairs]),
            "lpips": np.array(lpips(pasted, samples)) if lpips else np.full(len(samples), np.nan),
            "sharpness": np.array([M.sharpness_ratio(o, s.image, s.mask) for o, s in pairs]),
        }

    telea = scores(
        [_composite(get_baseline("telea")(w, s.mask), s) for w, s in zip(whites, samples, strict=True)]
    )

    def per_person_mean(values: np.ndarray, chosen: np.ndarray) -> float:
        return float(np.mean([values[people == p].mean() for p in sorted(set(people[chosen]))]))

    print(
        "| correction | video people: L1 / Telea, LPIPS / Telea, median sharpness | photo people: the same |"
    )
    print("|---|---|---|")
    for name, setting in settings.items():
        corrected = (
            fills
            if setting is None
            else [match_border(f, c, BorderMatch(*setting)) for f, c in zip(fills, crops, strict=True)]
        )
        score = scores([_composite(f, s) for f, s in zip(corrected, samples, strict=True)])
        cells = []
        for chosen in (is_video, ~is_video):
            l1 = per_person_mean(score["l1"], chosen) / per_person_mean(telea["l1"], chosen)
            lp = per_person_mean(score["lpips"], chosen) / per_person_mean(telea["lpips"], chosen)
            cells.append(f"{l1:.3f}x, {lp:.3f}x, {np.median(score['sharpness'][chosen]):.2f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
