"""What the crop-level benchmarks of a fill's variants share (`hedging.py`, `seam_correction.py`):
the validation crops, the model's fills of them, the scores of a pasted variant and the table of
ratios to Telea's, video and photo people apart, each person weighing the same. The test people
are never used."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from targets import video_people

from mouthsynth.config import load_config
from mouthsynth.evaluation import metrics as M
from mouthsynth.evaluation.baselines import get_baseline
from mouthsynth.evaluation.evaluate import (
    Evaluation,
    Sample,
    _composite,
    _crop_of,
    _lpips_or_reason,
    load_samples,
)
from mouthsynth.geometry import MouthCrop
from mouthsynth.inference.compositing import BorderMatch, match_border
from mouthsynth.inference.onnx_generator import OnnxGenerator
from mouthsynth.inference.synthesizer import default_model_path

BATCH = 32


def parser_for(doc: str) -> argparse.ArgumentParser:
    """The arguments every such benchmark takes: the model (default: the shipped one) and the
    prepared dataset."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(default_model_path()))
    parser.add_argument("--data", default="data/shared")
    return parser


@dataclass
class ValidationCrops:
    samples: list[Sample]
    crops: list[MouthCrop]
    whites: np.ndarray  # N x 128 x 128 x 3 uint8, the interior white
    masks: np.ndarray  # N x 128 x 128
    people: np.ndarray
    is_video: np.ndarray

    @classmethod
    def load(cls, data: Path) -> ValidationCrops:
        samples = load_samples(data, "val", 128, None, load_config())
        crops = [_crop_of(s) for s in samples]
        people = [s.person for s in samples]
        videos = video_people({"sample_ids": [s.id for s in samples], "sample_people": people})
        return cls(
            samples,
            crops,
            np.stack([c.white_filled for c in crops]),
            np.stack([s.mask for s in samples]),
            np.array(people),
            np.array([p in videos for p in people]),
        )

    def fill(self, generator: OnnxGenerator, whites: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The generator's composited fills (uint8), in batches."""
        return np.concatenate(
            [
                generator.run_crops(whites[i : i + BATCH], masks[i : i + BATCH])
                for i in range(0, len(whites), BATCH)
            ]
        )

    def with_border(self, fills, border: BorderMatch) -> list[np.ndarray]:
        """Each fill with the paste-back's border colour correction against its own crop."""
        return [match_border(f, c, border) for f, c in zip(fills, self.crops, strict=True)]

    def telea(self) -> list[np.ndarray]:
        return [get_baseline("telea")(w, s.mask) for w, s in zip(self.whites, self.samples, strict=True)]


class Scorer:
    """L1, LPIPS (NaN where its weights are missing) and sharpness of fills pasted hard into the
    crops, and the markdown row of their ratios to Telea's."""

    def __init__(self, crops: ValidationCrops, telea: list[np.ndarray] | None = None):
        """``telea``: the Telea fills the ratios are against, if already made (or altered)."""
        self.crops = crops
        self.lpips = _lpips_or_reason(Evaluation("", {}, [], []))
        self.telea = self.scores(crops.telea() if telea is None else telea)

    def scores(self, fills) -> dict[str, np.ndarray]:
        samples = self.crops.samples
        pasted = [
            _composite(np.clip(np.rint(f), 0, 255).astype(np.uint8), s)
            for f, s in zip(fills, samples, strict=True)
        ]
        pairs = list(zip(pasted, samples, strict=True))
        return {
            "l1": np.array([M.masked_l1(o, s.image, s.mask) for o, s in pairs]),
            "lpips": np.array(self.lpips(pasted, samples)) if self.lpips else np.full(len(samples), np.nan),
            "sharpness": np.array([M.sharpness_ratio(o, s.image, s.mask) for o, s in pairs]),
        }

    def _per_person_mean(self, values: np.ndarray, chosen: np.ndarray) -> float:
        people = self.crops.people
        return float(np.mean([values[people == p].mean() for p in sorted(set(people[chosen]))]))

    def row(self, name: str, score: dict[str, np.ndarray]) -> str:
        cells = []
        for chosen in (self.crops.is_video, ~self.crops.is_video):
            ratios = [
                self._per_person_mean(score[k], chosen) / self._per_person_mean(self.telea[k], chosen)
                for k in ("l1", "lpips")
            ]
            median_sharpness = np.median(score["sharpness"][chosen])
            cells.append(f"{ratios[0]:.3f}x, {ratios[1]:.3f}x, {median_sharpness:.2f}")
        return f"| {name} | {cells[0]} | {cells[1]} |"

    @staticmethod
    def header(first: str) -> str:
        return (
            f"| {first} | video people: L1 / Telea, LPIPS / Telea, median sharpness "
            "| photo people: the same |\n|---|---|---|"
        )
