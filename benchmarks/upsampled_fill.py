"""Is the video people's crop L1 gap the crop's resolution? The 128-px validation crops filled as
evaluated (the model at 128 px) and with the white-filled crop enlarged to a larger side first
(bicubic; the mask bilinear), the fill brought back to 128 px (area) and pasted with the shipped
border correction. Crop level, video and photo people apart, each person weighing the same; the
test people are never used.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/upsampled_fill.py [MODEL.onnx] \
        [--sides 160,192]
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from crop_variants import Scorer, ValidationCrops, parser_for

from mouthsynth.config import load_config
from mouthsynth.inference.compositing import border_match
from mouthsynth.inference.onnx_generator import OnnxGenerator


def resized(images: np.ndarray, side: int, interpolation: int) -> np.ndarray:
    return np.stack([cv2.resize(x, (side, side), interpolation=interpolation) for x in images])


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--sides", default="160,192", help="Sides the crop is enlarged to.")
    args = parser.parse_args()

    crops = ValidationCrops.load(Path(args.data))
    generator = OnnxGenerator(args.model, threads=1)
    border = border_match(load_config().inference)
    scorer = Scorer(crops)

    def bordered(fills):
        return scorer.scores(crops.with_border(fills, border))

    print(Scorer.header("model run at"))
    print(scorer.row("128 px (as evaluated)", bordered(crops.fill(generator, crops.whites, crops.masks))))
    for side in map(int, args.sides.split(",")):
        whites = resized(crops.whites, side, cv2.INTER_CUBIC)
        masks = resized(crops.masks, side, cv2.INTER_LINEAR)
        fills = resized(crops.fill(generator, whites, masks), 128, cv2.INTER_AREA)
        print(scorer.row(f"{side} px, brought back to 128", bordered(fills)), flush=True)


if __name__ == "__main__":
    main()
