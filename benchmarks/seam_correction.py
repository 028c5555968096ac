"""The border colour correction of the alpha paste-back, swept on the validation people.

``inference.compositing.match_border`` moves the fill's colour at the interior's edge to the
known pixels just outside, by at most ``max_levels``, fading over ``depth`` px (of the 128-px
crop) inward. The model runs once per crop; every setting is then pasted and scored at crop level
(L1 and LPIPS against Telea's, median sharpness), video and photo people apart, each person
weighing the same. The test people are never used.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/seam_correction.py [MODEL.onnx] \
        [--max 12,24,48] [--depth 3,6,12]
"""

from __future__ import annotations

from pathlib import Path

from crop_variants import Scorer, ValidationCrops, parser_for

from mouthsynth.inference.compositing import BorderMatch
from mouthsynth.inference.onnx_generator import OnnxGenerator


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--max", default="12,24,48", help="Largest corrections (levels), comma-separated.")
    parser.add_argument("--depth", default="3,6,12", help="Depths (px of the 128-px crop), comma-separated.")
    args = parser.parse_args()

    generator = OnnxGenerator(args.model, threads=1)
    crops = ValidationCrops.load(Path(args.data))
    fills = crops.fill(generator, crops.whites, crops.masks)
    settings = {"none": None} | {
        f"{m:g} levels, {d:g} px": BorderMatch(m, d)
        for m in map(float, args.max.split(","))
        for d in map(float, args.depth.split(","))
    }
    scorer = Scorer(crops)
    print(Scorer.header("correction"))
    for name, border in settings.items():
        corrected = fills if border is None else crops.with_border(fills, border)
        print(scorer.row(name, scorer.scores(corrected)), flush=True)


if __name__ == "__main__":
    main()
