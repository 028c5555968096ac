"""Where inside the interior the fill loses to Telea's, and what mixing Telea's fill in there buys.

The crop-level L1 of the validation people is broken down by distance from the interior's edge
(model and Telea per pixel, each person weighing the same), then two mixes are scored against the
plain fill: Telea's fill in a band along the edge, fading out over ``band`` px inward, and a
constant share of Telea's fill over the whole interior. Video and photo people apart, L1 and
LPIPS against Telea's, median sharpness. The test people are never used.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/telea_blend.py [MODEL.onnx] \
        [--bands 1,2,3,4] [--shares 0.1,0.2,0.3]
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from crop_variants import Scorer, ValidationCrops, parser_for

from mouthsynth.inference.compositing import BorderMatch
from mouthsynth.inference.onnx_generator import OnnxGenerator

DISTANCE_BINS = (0, 2, 4, 6, 9, 13, 20, 1000)


def edge_distance(mask: np.ndarray) -> np.ndarray:
    """Each interior pixel's distance (px) to the nearest pixel outside the interior."""
    return cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 5)


def band_ratio(model_error: np.ndarray, telea_error: np.ndarray, band: np.ndarray, people: np.ndarray) -> str:
    """Model over Telea L1 inside ``band``, each person with pixels there weighing the same."""
    means = []
    for person in sorted(set(people)):
        own = people == person
        inside = band[own]
        if inside.any():
            means.append((model_error[own][inside].mean(), telea_error[own][inside].mean()))
    if not means:
        return "none"
    model, telea = np.mean(means, axis=0)
    return f"{model / telea:.3f}x ({len(means)} people)"


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--bands", default="1,2,3,4", help="Edge bands (px), comma-separated.")
    parser.add_argument("--shares", default="0.1,0.2,0.3", help="Shares of Telea everywhere.")
    args = parser.parse_args()

    generator = OnnxGenerator(args.model, threads=1)
    crops = ValidationCrops.load(Path(args.data))
    fills = crops.fill(generator, crops.whites, crops.masks).astype(np.float32)
    telea = np.stack(crops.telea()).astype(np.float32)
    truth = np.stack([s.image for s in crops.samples]).astype(np.float32)
    distances = np.stack([edge_distance(m) for m in crops.masks])

    print("| distance from the edge (px) | video: model / Telea L1 | photos: model / Telea L1 |")
    print("|---|---|---|")
    model_error = np.abs(fills - truth).mean(-1)
    telea_error = np.abs(telea - truth).mean(-1)
    for lo, hi in zip(DISTANCE_BINS[:-1], DISTANCE_BINS[1:], strict=True):
        band = (distances > lo) & (distances <= hi)
        cells = [
            band_ratio(model_error[chosen], telea_error[chosen], band[chosen], crops.people[chosen])
            for chosen in (crops.is_video, ~crops.is_video)
        ]
        print(f"| {lo}-{hi} | {cells[0]} | {cells[1]} |", flush=True)

    scorer = Scorer(crops, telea=list(telea))  # the Telea fills made above, not made again

    def show(name: str, mixed: np.ndarray) -> None:
        print(scorer.row(name, scorer.scores(mixed)), flush=True)

    def along_edge(fill: np.ndarray, band: float) -> np.ndarray:
        weight = np.clip(distances / band, 0, 1)[..., None]
        return weight * fill + (1 - weight) * telea

    bands = [float(b) for b in args.bands.split(",")]
    corrected = np.stack(crops.with_border(fills.astype(np.uint8), BorderMatch())).astype(np.float32)
    print()
    print(Scorer.header("mix"))
    show("the fill alone", fills)
    show("the fill, border-corrected (the product)", corrected)
    for band in bands:
        show(f"border-corrected, Telea along the edge, {band:g} px", along_edge(corrected, band))
    for band in bands:
        show(f"Telea along the edge, {band:g} px", along_edge(fills, band))
    for share in map(float, args.shares.split(",")):
        show(f"Telea {share:.0%} everywhere", (1 - share) * fills + share * telea)


if __name__ == "__main__":
    main()
