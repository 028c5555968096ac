"""How much crop L1 an ensemble of fills buys, and what it costs in LPIPS and sharpness.

The fill of the white-filled crop, its mirror image's fill, and fills run at 192 and 256 px
(the crop enlarged, the fill shrunk back) are averaged in several combinations; every variant is
pasted hard into the crop and scored inside the interior against the truth and Telea, video and
photo people apart, each person weighing the same (the validation people; never the test people).

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/hedging.py [MODEL.onnx] [--data data/shared]
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from crop_variants import Scorer, ValidationCrops, parser_for

from mouthsynth.inference.onnx_generator import OnnxGenerator


def main() -> None:
    parser = parser_for(__doc__)
    args = parser.parse_args()

    generator = OnnxGenerator(args.model, threads=1)
    crops = ValidationCrops.load(Path(args.data))

    def fill(whites: np.ndarray, masks: np.ndarray) -> np.ndarray:
        return crops.fill(generator, whites, masks).astype(np.float32)

    def at_side(side: int) -> np.ndarray:
        w = np.stack([cv2.resize(x, (side, side), interpolation=cv2.INTER_CUBIC) for x in crops.whites])
        m = np.stack([cv2.resize(x, (side, side), interpolation=cv2.INTER_NEAREST) for x in crops.masks])
        w = np.where(m[..., None] > 0, np.uint8(255), w)
        return np.stack([cv2.resize(x, (128, 128), interpolation=cv2.INTER_AREA) for x in fill(w, m)])

    plain = fill(crops.whites, crops.masks)
    mirror = fill(crops.whites[:, :, ::-1].copy(), crops.masks[:, :, ::-1].copy())[:, :, ::-1]
    s192, s256 = at_side(192), at_side(256)
    variants = {
        "one fill (128 px)": plain,
        "mirror's fill": mirror,
        "mean: fill + mirror": (plain + mirror) / 2,
        "fill at 192 px": s192,
        "fill at 256 px": s256,
        "mean: 128 + 192 px": (plain + s192) / 2,
        "mean: 128 + mirror + 192 + 256": (plain + mirror + s192 + s256) / 4,
    }
    scorer = Scorer(crops)
    print(Scorer.header("variant"))
    for name, fills in variants.items():
        print(scorer.row(name, scorer.scores(fills)), flush=True)
    print(scorer.row("telea", scorer.telea))


if __name__ == "__main__":
    main()
