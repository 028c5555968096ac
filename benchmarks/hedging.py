"""How much crop L1 an ensemble of fills buys, and what it costs in LPIPS and sharpness.

The fill of the white-filled crop, its mirror image's fill, and fills run at 192 and 256 px
(the crop enlarged, the fill shrunk back) are averaged in several combinations; every variant is
pasted hard into the crop and scored inside the interior against the truth and Telea, video and
photo people apart, each person weighing the same (the validation people; never the test people).

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/hedging.py [MODEL.onnx] [--data data/shared]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from mouthsynth.config import load_config
from mouthsynth.evaluation import metrics as M
from mouthsynth.evaluation.baselines import get_baseline
from mouthsynth.evaluation.evaluate import Evaluation, _composite, _crop_of, _lpips_or_reason, load_samples
from mouthsynth.inference.onnx_generator import OnnxGenerator
from mouthsynth.inference.synthesizer import default_model_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(default_model_path()))
    parser.add_argument("--data", default="data/shared")
    args = parser.parse_args()

    generator = OnnxGenerator(args.model, threads=1)
    samples = load_samples(Path(args.data), "val", 128, None, load_config())
    whites = np.stack([_crop_of(s).white_filled for s in samples])
    masks = np.stack([s.mask for s in samples])

    def fill(w: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                generator.run_crops(w[i : i + 32], m[i : i + 32]).astype(np.float32)
                for i in range(0, len(w), 32)
            ]
        )

    def at_side(side: int) -> np.ndarray:
        w = np.stack([cv2.resize(x, (side, side), interpolation=cv2.INTER_CUBIC) for x in whites])
        m = np.stack([cv2.resize(x, (side, side), interpolation=cv2.INTER_NEAREST) for x in masks])
        w = np.where(m[..., None] > 0, np.uint8(255), w)
        return np.stack([cv2.resize(x, (128, 128), interpolation=cv2.INTER_AREA) for x in fill(w, m)])

    plain = fill(whites, masks)
    mirror = fill(whites[:, :, ::-1].copy(), masks[:, :, ::-1].copy())[:, :, ::-1]
    s192, s256 = at_side(192), at_side(256)
    telea = np.stack([get_baseline("telea")(w, s.mask) for w, s in zip(whites, samples, strict=True)])
    variants = {
        "one fill (128 px)": plain,
        "mirror's fill": mirror,
        "mean: fill + mirror": (plain + mirror) / 2,
        "fill at 192 px": s192,
        "fill at 256 px": s256,
        "mean: 128 + 192 px": (plain + s192) / 2,
        "mean: 128 + mirror + 192 + 256": (plain + mirror + s192 + s256) / 4,
        "telea": telea.astype(np.float32),
    }
    lpips = _lpips_or_reason(Evaluation("", {}, [], []))
    people = np.array([s.person for s in samples])
    frames: dict[str, set[int]] = {}
    for s in samples:
        frames.setdefault(s.person, set()).add(s.frame)
    is_video = np.array([len(frames[s.person]) > 1 for s in samples])  # as benchmarks/targets.py
    scores = {}
    for name, fills in variants.items():
        pasted = [
            _composite(np.clip(f.round(), 0, 255).astype(np.uint8), s)
            for f, s in zip(fills, samples, strict=True)
        ]
        scores[name] = {
            "l1": np.array([M.masked_l1(o, s.image, s.mask) for o, s in zip(pasted, samples, strict=True)]),
            "lpips": np.array(lpips(pasted, samples)) if lpips else np.full(len(samples), np.nan),
            "sharpness": np.array(
                [M.sharpness_ratio(o, s.image, s.mask) for o, s in zip(pasted, samples, strict=True)]
            ),
        }

    def per_person_mean(values: np.ndarray, chosen: np.ndarray) -> float:
        return float(np.mean([values[people == p].mean() for p in sorted(set(people[chosen]))]))

    print("| variant | video people: L1 / Telea, LPIPS / Telea, median sharpness | photo people: the same |")
    print("|---|---|---|")
    for name, score in scores.items():
        cells = []
        for chosen in (is_video, ~is_video):
            l1 = per_person_mean(score["l1"], chosen) / per_person_mean(scores["telea"]["l1"], chosen)
            lp = per_person_mean(score["lpips"], chosen) / per_person_mean(scores["telea"]["lpips"], chosen)
            cells.append(f"{l1:.3f}x, {lp:.3f}x, {np.median(score['sharpness'][chosen]):.2f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
