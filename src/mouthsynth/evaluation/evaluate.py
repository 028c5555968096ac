"""`mouthsynth evaluate`: the model against classical inpainting on the same crops and masks.

Every method gets exactly the same white-filled crops and masks, and every result goes through
the same compositing (known pixels are the real ones), so the numbers compare fillers, nothing
else. Samples come from a prepared dataset's test split (people never seen in training nor used
to choose a checkpoint), or from raw videos/images prepared on the fly.

Means weigh people, not frames: each person's samples are averaged first, and the 95% interval
bootstraps people (``evaluation.people``). ``evaluate_levels`` adds the full-resolution
evaluation of ``evaluation.fullres`` (the whole pipeline on the original photos), and the video
evaluation of ``evaluation.video`` (``mouthsynth video``'s frame loop on consecutive frames).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mouthsynth.config import Config, load_config
from mouthsynth.errors import InputError
from mouthsynth.evaluation import metrics as M
from mouthsynth.evaluation.baselines import get_baseline
from mouthsynth.evaluation.people import method_differences, method_summaries, scores_report
from mouthsynth.geometry import MouthCrop
from mouthsynth.inference.compositing import BorderMatch, border_match, composite_crop

METRICS = ("l1", "psnr", "ssim", "sharpness", "seam", "lpips", "perceptual")
LOWER_IS_BETTER = {
    "l1": True,
    "psnr": False,
    "ssim": False,
    "sharpness": None,
    "seam": True,
    "lpips": True,
    "perceptual": True,
    "flicker": True,
}


@dataclass
class Sample:
    id: str
    group: str
    frame: int
    face: int
    image: np.ndarray  # S x S x 3 uint8, ground truth
    mask: np.ndarray  # S x S float32 {0, 1}
    local_box: tuple[int, int, int, int]
    identity: str = ""  # the person; "" = the group (source)

    @property
    def person(self) -> str:
        return self.identity or self.group


@dataclass
class Evaluation:
    dataset: str
    model: dict
    methods: list[str]
    samples: list[Sample]
    per_sample: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    flicker: dict[str, list[float]] = field(default_factory=dict)
    flicker_people: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def outputs_white(self, i: int) -> np.ndarray:
        return _crop_of(self.samples[i]).white_filled

    @property
    def people(self) -> list[str]:
        return [s.person for s in self.samples]

    def summary(self) -> dict[str, dict[str, dict]]:
        """Per method and metric: the mean of per-person means and its people-bootstrap 95% CI."""
        return method_summaries(self.methods, self.per_sample, self.people, self.flicker, self.flicker_people)

    def paired(self, a: str = "model", b: str = "telea") -> dict[str, dict]:
        """``a - b`` per sample (and per frame pair for flicker), summarised over people."""
        return method_differences(self.per_sample, self.people, [(a, b)], self.flicker, self.flicker_people)

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "model": self.model,
            "samples": len(self.samples),
            "sample_ids": [s.id for s in self.samples],
            **scores_report(
                self.methods,
                self.per_sample,
                self.people,
                flicker=self.flicker,
                flicker_people=self.flicker_people,
            ),
            "unavailable": self.unavailable,
            "lower_is_better": LOWER_IS_BETTER,
        }


def load_samples(
    root: Path, split: str | None, size: int, max_samples: int | None, cfg: Config
) -> list[Sample]:
    """Validation crops at the model's size. With ``max_samples``, whole runs of consecutive
    frames are taken from every source in turn, so flicker can still be measured."""
    from mouthsynth.data.dataset import MouthDataset  # torch-based dataset gives the exact training view

    ds = MouthDataset(root, split, size, cfg.data, cfg.geometry, train=False, include_closed=False)
    if len(ds) == 0:
        raise InputError(root, f"no open-mouth samples in the {split or 'whole'} split")
    order = list(range(len(ds)))
    if max_samples is not None and max_samples < len(ds):
        groups: dict[str, list[int]] = defaultdict(list)
        for i in order:
            groups[ds.records[i]["group"]].append(i)
        per_group = max(1, math.ceil(max_samples / len(groups)))
        order = []
        for members in groups.values():
            members.sort(key=lambda i: (ds.records[i]["frame"], ds.records[i].get("face", 0)))
            start = max(0, len(members) // 2 - per_group // 2)  # the middle of a clip
            order += members[start : start + per_group]
        order = sorted(order)[:max_samples]
    samples = []
    for i in order:
        item = ds[i]
        rec = ds.records[i]
        image = ((item["image"].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
        samples.append(
            Sample(
                rec["id"],
                rec["group"],
                rec["frame"],
                rec.get("face", 0),
                image,
                item["mask"][0].numpy(),
                tuple(int(v) for v in item["local_box"].tolist()),
                str(rec.get("identity", "")),
            )
        )
    return samples


def _crop_of(sample: Sample) -> MouthCrop:
    white = np.where(sample.mask[..., None] > 0, np.uint8(255), sample.image)
    return MouthCrop(
        np.eye(2, 3),
        sample.image.shape[0],
        sample.image,
        sample.mask,
        white,
        np.zeros_like(sample.mask),
        sample.local_box,
        np.zeros((0, 2)),
        np.zeros((0, 2)),
        1.0,
        sample.image.shape[:2],
    )


def _composite(fill: np.ndarray, sample: Sample) -> np.ndarray:
    """The one compositing every method goes through: real pixels outside the mask."""
    hard = sample.mask[..., None] > 0
    return np.where(hard, fill, sample.image)


def model_identity(model: Path | None) -> dict:
    from mouthsynth.inference.synthesizer import default_model_path

    path = Path(model) if model is not None else default_model_path()
    info = {"path": str(path)}
    if path.is_file():
        info["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        card = path.with_suffix(".json")
        if card.is_file():
            info["card"] = json.loads(card.read_text())
    return info


def run_methods(
    samples: list[Sample],
    generator,
    baselines: list[str],
    blends: tuple[str, ...] = ("alpha",),
    border: BorderMatch | None = BorderMatch(),
) -> dict[str, list[np.ndarray]]:
    outputs: dict[str, list[np.ndarray]] = {}
    whites = np.stack([_crop_of(s).white_filled for s in samples])
    masks = np.stack([s.mask for s in samples])
    for name in baselines:
        fill = get_baseline(name)
        outputs[name] = [_composite(fill(w, s.mask), s) for w, s in zip(whites, samples, strict=True)]
    if generator is not None:
        generated = []
        for start in range(0, len(samples), 32):
            generated += list(generator.run_crops(whites[start : start + 32], masks[start : start + 32]))
        for blend in blends:
            label = "model" if blend == "alpha" else f"model+{blend}"
            outputs[label] = [
                _composite(composite_crop(g, _crop_of(s), blend, border), s)
                for g, s in zip(generated, samples, strict=True)
            ]
    return outputs


def _flicker_pairs(
    samples: list[Sample], results: list[np.ndarray], every: int
) -> tuple[list[float], list[str]]:
    """Flicker of consecutive prepared frames of the same face in the same video, and the person
    of each pair."""
    index = {(s.group, s.face, s.frame): i for i, s in enumerate(samples)}
    values, people = [], []
    for i, s in enumerate(samples):
        for gap in range(1, 2 * every + 1):
            j = index.get((s.group, s.face, s.frame + gap))
            if j is not None:
                union = np.maximum(samples[i].mask, samples[j].mask)
                values.append(
                    M.flicker([results[i], results[j]], [samples[i].image, samples[j].image], [union, union])
                )
                people.append(s.person)
                break
    return values, people


def evaluate(
    data: list[Path],
    model: Path | None = None,
    baselines: list[str] = ("telea", "ns", "blur"),
    max_samples: int | None = None,
    split: str | None = "test",
    cfg: Config | None = None,
    blends: tuple[str, ...] = ("alpha", "poisson"),
    backend: str = "onnx",
) -> Evaluation:
    cfg = cfg or load_config()
    if backend == "torch":
        from mouthsynth.inference.torch_generator import TorchGenerator

        generator = TorchGenerator(model)
    else:
        from mouthsynth.inference.onnx_generator import OnnxGenerator
        from mouthsynth.inference.synthesizer import default_model_path

        generator = OnnxGenerator(model or default_model_path())
    size = int(generator.crop_size)
    tmp = None
    if len(data) == 1 and (Path(data[0]) / "manifest.jsonl").is_file():
        root = Path(data[0])
        info_path = root / "dataset.json"
        every = json.loads(info_path.read_text()).get("every", 2) if info_path.is_file() else 2
    else:
        from mouthsynth.data.prepare import prepare

        tmp = tempfile.TemporaryDirectory(prefix="mouthsynth-eval-")
        root = Path(tmp.name)
        prepare(list(map(Path, data)), root, cfg, progress=False)
        split, every = None, cfg.data.every
    try:
        samples = load_samples(root, split, size, max_samples, cfg)
    finally:
        if tmp is not None:
            tmp_samples_root = tmp
            tmp_samples_root.cleanup()
    outputs = run_methods(samples, generator, list(baselines), blends, border_match(cfg.inference))
    methods = list(baselines) + [k for k in outputs if k.startswith("model")]
    result = Evaluation(
        str(data[0] if len(data) == 1 else [str(d) for d in data]),
        model_identity(model if backend == "onnx" else None) if backend == "onnx" else {"path": str(model)},
        methods,
        samples,
        outputs=outputs,
    )
    lpips = _lpips_or_reason(result)
    perceptual = _vgg19_or_reason(result)
    for method in methods:
        values: dict[str, list[float]] = defaultdict(list)
        for s, out in zip(samples, outputs[method], strict=True):
            values["l1"].append(M.masked_l1(out, s.image, s.mask))
            values["psnr"].append(M.masked_psnr(out, s.image, s.mask))
            values["ssim"].append(M.local_ssim(out, s.image, s.local_box))
            values["sharpness"].append(M.sharpness_ratio(out, s.image, s.mask))
            values["seam"].append(M.seam_error(out, s.image, s.mask))
        if lpips is not None:
            values["lpips"] = lpips(outputs[method], samples)
        if perceptual is not None:
            values["perceptual"] = perceptual(outputs[method], samples)
        result.per_sample[method] = {k: [float(x) for x in v] for k, v in values.items()}
        result.flicker[method], result.flicker_people = _flicker_pairs(samples, outputs[method], every)
    return result


def _local_tensor(images: list[np.ndarray], samples: list[Sample]):
    import cv2
    import torch

    crops = []
    for img, s in zip(images, samples, strict=True):
        x0, y0, x1, y1 = s.local_box
        crops.append(cv2.resize(img[y0:y1, x0:x1], (64, 64), interpolation=cv2.INTER_AREA))
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 127.5 - 1


def _lpips_or_reason(result: Evaluation):
    try:
        import torch

        from mouthsynth.evaluation.lpips import LPIPS

        metric = LPIPS.load()
    except Exception as exc:  # no torch, or weights not found: say why
        result.unavailable["lpips"] = f"LPIPS unavailable: {exc}"
        return None

    def run(images, samples):
        with torch.no_grad():
            values = []
            for start in range(0, len(samples), 64):
                a = _local_tensor(images[start : start + 64], samples[start : start + 64])
                b = _local_tensor([s.image for s in samples[start : start + 64]], samples[start : start + 64])
                values += metric(a, b).flatten().tolist()
        return values

    return run


def _vgg19_or_reason(result: Evaluation):
    try:
        import torch

        from mouthsynth.losses.perceptual import PerceptualLoss

        loss = PerceptualLoss("vgg19")
    except Exception as exc:
        result.unavailable["perceptual"] = f"VGG19 perceptual distance unavailable: {exc}"
        return None

    def run(images, samples):
        with torch.no_grad():
            a = _local_tensor(images, samples)
            b = _local_tensor([s.image for s in samples], samples)
            return [float(loss(a[i : i + 1], b[i : i + 1])) for i in range(len(samples))]

    return run


LEVELS = ("crop", "full", "both", "video")


@dataclass
class LevelResults:
    """Both levels of one evaluation: the crops (``crop``) and the original images (``full``)."""

    dataset: str
    model: dict
    split: str | None
    level: str
    crop: Evaluation | None = None
    full: object | None = None  # fullres.FullEvaluation
    video: object | None = None  # video.VideoEvaluation
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The crop level's keys at the top (as before), the full level under ``full``."""
        out = self.crop.to_json() if self.crop is not None else {"dataset": self.dataset, "model": self.model}
        out.update(
            split=self.split,
            level=self.level,
            levels=[
                name
                for name, part in (("crop", self.crop), ("full", self.full), ("video", self.video))
                if part is not None
            ],
            weighting="each person weighs the same; 95% CIs bootstrap people",
            notes=self.notes,
            lower_is_better=LOWER_IS_BETTER,
        )
        if self.full is not None:
            out["full"] = self.full.to_json()
        if self.video is not None:
            out["video"] = self.video.to_json()
        return out


def evaluate_levels(
    data: list[Path],
    model: Path | None = None,
    baselines: list[str] = ("telea", "ns", "blur"),
    max_samples: int | None = None,
    split: str | None = "test",
    level: str = "both",
    blends: tuple[str, ...] = ("alpha", "poisson"),
    backend: str = "onnx",
    full_every: int | None = None,
    hide: str = "blur",
    cfg: Config | None = None,
    progress: bool = False,
    video_frames: int | None = None,
) -> LevelResults:
    """``crop``: the crop-level evaluation of every sample; ``full``: the whole pipeline on the
    original photos and on every ``full_every``-th frame of the videos; ``both``: crops of every
    sample and the full level on the photos; ``video``: ``mouthsynth video``'s frame loop on the
    first ``video_frames`` consecutive frames of every video (``evaluation.video``)."""
    from mouthsynth.errors import ConfigError
    from mouthsynth.evaluation import fullres

    if level not in LEVELS:
        raise ConfigError(f"--level {level!r}: choose from {', '.join(LEVELS)}")
    cfg = cfg or load_config()
    data = [Path(d) for d in data]
    prepared = len(data) == 1 and (data[0] / "manifest.jsonl").is_file()
    name = str(data[0] if len(data) == 1 else [str(d) for d in data])
    info = {"path": str(model)} if backend != "onnx" else model_identity(model)
    result = LevelResults(name, info, split if prepared else None, level)
    if level == "video":
        from mouthsynth.evaluation import video as video_eval
        from mouthsynth.inference.synthesizer import MouthSynthesizer

        if prepared:
            sources = fullres.prepared_sources(data[0], split, True)
        else:
            sources = fullres.raw_sources(data, True)
        sources = [s for s in sources if s.is_video]
        if not sources:
            raise InputError(data[0], f"no videos in the {split if prepared else 'given'} data")
        synth = MouthSynthesizer(model, backend=backend, config=copy.deepcopy(cfg))
        result.video = video_eval.evaluate_videos(
            sources,
            synth,
            [b for b in baselines if b == "telea"] or list(baselines)[:1],
            video_frames or video_eval.VIDEO_FRAMES,
            hide=hide,
            progress=progress,
        )
        return result
    if level in ("crop", "both"):
        result.crop = evaluate(data, model, list(baselines), max_samples, split, cfg, blends, backend)
    if level in ("full", "both"):
        videos = level == "full"
        sources = (
            fullres.prepared_sources(data[0], split, videos)
            if prepared
            else fullres.raw_sources(data, videos)
        )
        if not sources:
            what = "photo or video" if videos else "photo"
            message = f"no {what} sources in the {split if prepared else 'given'} data for the full level"
            if level == "full":
                raise InputError(data[0], message)
            result.notes.append(message)
            return result
        from mouthsynth.inference.synthesizer import MouthSynthesizer

        min_open = cfg.data.min_open
        if prepared and (data[0] / "dataset.json").is_file():
            min_open = float(json.loads((data[0] / "dataset.json").read_text()).get("min_open", min_open))
        synth = MouthSynthesizer(model, backend=backend, config=copy.deepcopy(cfg))
        result.full = fullres.evaluate_full(
            sources,
            synth,
            list(baselines),
            blends,
            full_every or fullres.VIDEO_EVERY,
            max_samples,
            min_open,
            progress=progress,
            hide=hide,
        )
        if len(result.full) == 0:
            result.notes.append("the full level found no open mouth in its sources")
    return result
