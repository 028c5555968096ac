"""Is the video people's crop L1 gap in the fill's brightness? Swept on the validation people.

The model runs once per crop. Rows: the fill pasted hard; the fill and Telea's each given the
true interior's mean colour (an oracle: what a perfect brightness would leave); and constant
offsets and gains of the fill, pasted with the shipped border correction. Crop level, video and
photo people apart, each person weighing the same; the test people are never used.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/fill_level.py [MODEL.onnx] \
        [--offsets 0,4,8,12] [--gains 1.05,1.1]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from crop_variants import Scorer, ValidationCrops, parser_for

from mouthsynth.config import load_config
from mouthsynth.inference.compositing import border_match
from mouthsynth.inference.onnx_generator import OnnxGenerator


def with_true_mean(fills, crops: ValidationCrops) -> list[np.ndarray]:
    """Each fill moved so that its interior's mean colour is the truth's."""
    out = []
    for fill, sample in zip(fills, crops.samples, strict=True):
        inside = sample.mask >= 0.5
        fill = fill.astype(np.float32)
        fill[inside] += sample.image[inside].astype(np.float32).mean(0) - fill[inside].mean(0)
        out.append(np.clip(np.rint(fill), 0, 255).astype(np.uint8))
    return out


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--offsets", default="0,4,8,12", help="Levels added to the fill.")
    parser.add_argument("--gains", default="1.05,1.1", help="Factors the fill is multiplied by.")
    args = parser.parse_args()

    crops = ValidationCrops.load(Path(args.data))
    fills = crops.fill(OnnxGenerator(args.model, threads=1), crops.whites, crops.masks)
    border = border_match(load_config().inference)
    telea = crops.telea()
    scorer = Scorer(crops, telea)
    print(Scorer.header("fill"))
    print(scorer.row("pasted hard", scorer.scores(fills)))
    oracle = Scorer(crops, with_true_mean(telea, crops))
    print(oracle.row("true mean colour (Telea's too), hard", oracle.scores(with_true_mean(fills, crops))))

    def bordered(levels):
        return scorer.scores(crops.with_border(levels, border))

    for offset in map(float, args.offsets.split(",")):
        shifted = [np.clip(f.astype(np.float32) + offset, 0, 255).astype(np.uint8) for f in fills]
        print(scorer.row(f"{offset:+g} levels, border correction", bordered(shifted)), flush=True)
    for gain in map(float, args.gains.split(",")):
        scaled = [np.clip(f.astype(np.float32) * gain, 0, 255).astype(np.uint8) for f in fills]
        print(scorer.row(f"x{gain:g}, border correction", bordered(scaled)), flush=True)


if __name__ == "__main__":
    main()
