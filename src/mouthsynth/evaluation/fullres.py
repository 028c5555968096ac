"""Full-resolution evaluation: the whole pipeline on the original image, scored where users look.

For each open mouth of an original photo (or a sampled video frame):

1. landmarks are found on the original image, once, and held fixed;
2. the interior is the inner-lip polygon in image pixels, dilated as the synthesizer's geometry
   dilates it in the crop (``geometry.mask_dilation`` crop pixels of a 128-px crop, converted to
   image pixels), anti-aliased, and binarised at 0.5 as everywhere else;
3. the image with that interior **hidden** (set to white) is all any method sees: the model runs
   through ``MouthSynthesizer.fill_faces`` (crop, generator, border colour correction, feathered
   paste-back) with the fixed landmarks; Telea, Navier-Stokes and the blur fill inpaint the same
   hidden interior of the same full-resolution image;
4. every result is composited the same way (the real pixels outside the interior) and scored
   at the image's own resolution: L1, PSNR and the sharpness ratio inside the interior; SSIM,
   seam error and LPIPS (resized to ``LPIPS_SIDE``) on a square box around the mouth.

Hiding exactly the scored interior makes leaks impossible by construction: the synthesizer's
crop sampling, its border colour correction and its feather read only white there (and the real
lips outside, which are known). A test scrambles the hidden pixels and requires every output to
stay the same inside the interior. With the outward paste-back feather
(``geometry.feather_outward``) none of the hidden interior shows in the model's result; with the
centred one its inner half blends the fill with the hidden pixels, as it would blend with
whatever interior an upstream renderer left.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mouthsynth.errors import InputError, MouthSynthError
from mouthsynth.evaluation import metrics as M
from mouthsynth.evaluation.baselines import get_baseline
from mouthsynth.evaluation.people import method_differences, method_summaries, scores_report
from mouthsynth.geometry.crops import REFERENCE_SIZE, crop_matrix
from mouthsynth.geometry.mouth import mouth_open, polygon_mask
from mouthsynth.io.images import is_video
from mouthsynth.landmarks.base import FaceLandmarks

BOX_GROW = 1.25  # mouth box side = this x the outer lips' larger side
LPIPS_SIDE = 256  # the mouth box is resized to this side for LPIPS
GRID_HEIGHT = 192  # tile height of the full-resolution grid
VIDEO_EVERY = 25  # full-resolution frames of a video: every Nth
INPAINT_MARGIN = 16  # px around the mouth box that the classical fillers are given
HIDE_VALUE = 255  # the hidden interior is white, as in the crops
FULL_METRICS = ("l1", "psnr", "ssim", "sharpness", "seam", "lpips")


@dataclass
class FullSource:
    path: Path
    identity: str
    split: str | None = None

    @property
    def is_video(self) -> bool:
        return is_video(self.path)


@dataclass
class FullSample:
    """One face of one original image: the truth, its fixed landmarks and its interior."""

    id: str
    identity: str
    source: str
    frame: int
    face: int
    image: np.ndarray  # H x W x 3 uint8, the original: the ground truth
    landmarks: FaceLandmarks
    interior: np.ndarray  # H x W float32 in [0, 1], anti-aliased
    box: tuple[int, int, int, int]  # square around the mouth, image px

    @property
    def hole(self) -> np.ndarray:
        """The hidden, scored pixels (bool)."""
        return self.interior >= 0.5

    @property
    def hidden(self) -> np.ndarray:
        """The original with its interior hidden: the only image any method sees."""
        return np.where(self.hole[..., None], np.uint8(HIDE_VALUE), self.image)


def image_px_per_crop_px(outer_lip: np.ndarray, global_scale: float) -> float:
    """Image pixels per pixel of the 128-px reference crop that GeometryConfig lengths refer to."""
    matrix = crop_matrix(outer_lip, REFERENCE_SIZE, global_scale)
    return 1.0 / math.sqrt(abs(float(np.linalg.det(matrix[:, :2]))))


def interior_mask(face: FaceLandmarks, shape: tuple[int, ...], geometry) -> np.ndarray:
    """The interior in image px: the inner-lip polygon, dilated by ``geometry.mask_dilation``
    reference-crop pixels (what ``cut_mouth`` does in the crop), anti-aliased."""
    h, w = shape[:2]
    dilation = geometry.mask_dilation * image_px_per_crop_px(face.outer_lip, geometry.global_scale)
    pad = int(math.ceil(dilation)) + 2
    lo = np.floor(face.inner_lip.min(0)).astype(int) - pad
    hi = np.ceil(face.inner_lip.max(0)).astype(int) + pad + 1
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = min(int(hi[0]), w), min(int(hi[1]), h)
    out = np.zeros((h, w), np.float32)
    if x1 > x0 and y1 > y0:
        local = face.inner_lip - np.array([x0, y0], np.float32)
        out[y0:y1, x0:x1] = polygon_mask(local, (y1 - y0, x1 - x0), dilation)
    return out


def mouth_box(
    outer_lip: np.ndarray, shape: tuple[int, ...], grow: float = BOX_GROW
) -> tuple[int, int, int, int]:
    """A square around the outer lips (side = ``grow`` x their larger side), inside the image."""
    h, w = shape[:2]
    lo, hi = outer_lip.min(0), outer_lip.max(0)
    centre = (lo + hi) / 2
    side = int(round(min(float(max(hi - lo)) * grow, h, w)))
    side = max(side, 8)
    x0 = int(np.clip(round(centre[0] - side / 2), 0, max(w - side, 0)))
    y0 = int(np.clip(round(centre[1] - side / 2), 0, max(h - side, 0)))
    return x0, y0, min(x0 + side, w), min(y0 + side, h)


def make_sample(
    image: np.ndarray,
    face: FaceLandmarks,
    geometry,
    id: str,
    identity: str,
    source: str = "",
    frame: int = 0,
    face_index: int = 0,
) -> FullSample:
    return FullSample(
        id,
        identity,
        source,
        frame,
        face_index,
        image,
        face,
        interior_mask(face, image.shape, geometry),
        mouth_box(face.outer_lip, image.shape),
    )


# --- the methods ------------------------------------------------------------------------------
def _roi(sample: FullSample, margin: int = INPAINT_MARGIN) -> tuple[int, int, int, int]:
    h, w = sample.image.shape[:2]
    x0, y0, x1, y1 = sample.box
    ys, xs = np.nonzero(sample.hole)
    if len(xs):
        x0, y0, x1, y1 = min(x0, xs.min()), min(y0, ys.min()), max(x1, xs.max() + 1), max(y1, ys.max() + 1)
    return max(x0 - margin, 0), max(y0 - margin, 0), min(x1 + margin, w), min(y1 + margin, h)


def _baseline_full(name: str, hidden: np.ndarray, sample: FullSample) -> np.ndarray:
    """A classical filler on the full-resolution hidden image and mask. It runs on a window a
    margin larger than the mouth box: OpenCV's inpainting only looks a few pixels around the hole,
    so the result is the same as on the whole image, at a fraction of the cost."""
    x0, y0, x1, y1 = _roi(sample)
    out = hidden.copy()
    out[y0:y1, x0:x1] = get_baseline(name)(
        np.ascontiguousarray(hidden[y0:y1, x0:x1]), sample.interior[y0:y1, x0:x1]
    )
    return out


def synthesizer_input(sample: FullSample, hide: str = "blur") -> np.ndarray:
    """The image the synthesizer gets: the original with its interior hidden under ``hide``:
    ``white``, or ``blur`` (the lips' colours smeared inward from outside the interior, what an
    upstream renderer that knows nothing of teeth leaves there). The synthesizer white-fills its
    own crop, so its generator never sees this fill; only the border colour correction (and,
    with ``geometry.feather_outward`` off, the inner half of the paste-back feather) blend with
    it."""
    hidden = sample.hidden
    if hide == "white":
        return hidden
    if hide == "blur":
        return np.where(sample.hole[..., None], _baseline_full("blur", hidden, sample), hidden)
    raise ValueError(f"hide must be 'white' or 'blur', got {hide!r}")


def run_full_methods(
    sample: FullSample,
    synth,
    baselines: Sequence[str],
    blends: Sequence[str] = ("alpha",),
    hide: str = "blur",
) -> dict[str, np.ndarray]:
    """Every method's full-resolution result, composited the same way: the method's pixels inside
    the interior, the original outside. Methods see ``sample.hidden`` and nothing else of the
    image (the model also gets the landmarks found on the original, and its input's hidden
    interior filled as ``hide`` says, from the pixels outside it)."""
    from mouthsynth.config import set_value

    hidden = sample.hidden
    hole = sample.hole[..., None]
    outputs: dict[str, np.ndarray] = {}
    for name in baselines:
        outputs[name] = np.where(hole, _baseline_full(name, hidden, sample), sample.image)
    if synth is not None:
        given = synthesizer_input(sample, hide)
        before = synth.cfg.inference.blend
        try:
            for blend in blends:
                set_value(synth.cfg, "inference.blend", blend)
                filled = synth.fill_faces(given, [sample.landmarks], force=True).image
                label = "model" if blend == "alpha" else f"model+{blend}"
                outputs[label] = np.where(hole, filled, sample.image)
        finally:
            set_value(synth.cfg, "inference.blend", before)
    return outputs


# --- the scores -------------------------------------------------------------------------------
def _box(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


def score_full(
    result: np.ndarray, sample: FullSample, lpips: Callable[[np.ndarray, np.ndarray], float] | None = None
) -> dict[str, float]:
    """The full-resolution scores of one result (image sized, or the mouth box already cut)."""
    if result.shape[:2] == sample.image.shape[:2]:
        result = _box(result, sample.box)
    truth = _box(sample.image, sample.box)
    interior = _box(sample.interior, sample.box)
    h, w = truth.shape[:2]
    scores = {
        "l1": M.masked_l1(result, truth, interior),
        "psnr": M.masked_psnr(result, truth, interior),
        "ssim": M.local_ssim(result, truth, (0, 0, w, h)),
        "sharpness": M.sharpness_ratio(result, truth, interior),
        "seam": M.seam_error(result, truth, interior),
    }
    if lpips is not None:
        scores["lpips"] = lpips(result, truth)
    return {k: float(v) for k, v in scores.items()}


def lpips_or_reason(unavailable: dict[str, str]) -> Callable[[np.ndarray, np.ndarray], float] | None:
    """LPIPS of two mouth boxes resized to ``LPIPS_SIDE``; None (and the reason in
    ``unavailable``) without torch or the weights."""
    try:
        import torch

        from mouthsynth.evaluation.lpips import LPIPS

        metric = LPIPS.load()
    except Exception as exc:  # no torch, or weights not found: say why
        unavailable["lpips"] = f"LPIPS unavailable: {exc}"
        return None

    def tensor(img: np.ndarray):
        img = cv2.resize(img, (LPIPS_SIDE, LPIPS_SIDE), interpolation=cv2.INTER_AREA)
        return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5 - 1

    def run(a: np.ndarray, b: np.ndarray) -> float:
        with torch.no_grad():
            return float(metric(tensor(a), tensor(b))[0])

    return run


def grid_tile(image: np.ndarray, box: tuple[int, int, int, int], height: int = GRID_HEIGHT) -> np.ndarray:
    crop = _box(image, box)
    h, w = crop.shape[:2]
    width = max(1, int(round(w * height / h)))
    interp = cv2.INTER_AREA if h > height else cv2.INTER_CUBIC
    return cv2.resize(crop, (width, height), interpolation=interp)


# --- sources and samples ----------------------------------------------------------------------
def _resolve(path: str, root: Path) -> Path:
    candidate = Path(path)
    for p in (candidate, root / candidate, root.parent / candidate, root.parent.parent / candidate):
        if p.is_file():
            return p
    return candidate


def prepared_sources(root: Path, split: str | None, videos: bool) -> list[FullSource]:
    """The original files of a prepared dataset's ``split`` (all with None), from sources.jsonl;
    photos only unless ``videos``."""
    path = Path(root) / "sources.jsonl"
    if not path.is_file():
        raise InputError(root, "not a prepared dataset (no sources.jsonl)")
    found = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if split is not None and rec.get("split") != split:
            continue
        src = FullSource(
            _resolve(rec["source"], Path(root)), rec.get("identity", rec["group"]), rec.get("split")
        )
        if videos or not src.is_video:
            found.append(src)
    return found


def raw_sources(paths: Sequence[Path], videos: bool) -> list[FullSource]:
    """Photos (and videos with ``videos``) given on the command line; identity = file stem."""
    from mouthsynth.data.prepare import collect_sources

    found = [FullSource(p, p.stem) for p in collect_sources([Path(p) for p in paths])]
    return [s for s in found if videos or not s.is_video]


def _frames(source: FullSource, every: int) -> Iterator[tuple[int, np.ndarray]]:
    if source.is_video:
        from mouthsynth.io.video import VideoReader

        with VideoReader(source.path) as reader:
            for index, frame in enumerate(reader):
                if index % every == 0:
                    yield index, frame
    else:
        from mouthsynth.io.images import read_image

        yield 0, read_image(source.path)


def iter_samples(
    sources: Sequence[FullSource],
    landmarks,
    geometry,
    min_open: float,
    every: int = VIDEO_EVERY,
    on_error: Callable[[str], None] | None = None,
) -> Iterator[FullSample]:
    """Every open mouth (``mouth_open >= min_open``, outer lips at least as wide as prepare
    keeps) of every source, with landmarks found on the original frame."""
    from mouthsynth.data.prepare import MIN_MOUTH_WIDTH_PX, group_name

    for source in sources:
        try:
            for index, frame in _frames(source, every):
                for k, face in enumerate(landmarks.detect(frame)):
                    if float(np.ptp(face.outer_lip[:, 0])) < MIN_MOUTH_WIDTH_PX:
                        continue
                    if mouth_open(face.inner_lip) < min_open:
                        continue
                    sample_id = f"{group_name(source.path)}/{index:06d}/{k}"
                    yield make_sample(
                        frame, face, geometry, sample_id, source.identity, str(source.path), index, k
                    )
        except MouthSynthError as exc:
            if on_error is not None:
                on_error(str(exc))
        except Exception as exc:  # a broken file must not stop the evaluation: it is reported
            if on_error is not None:
                on_error(f"{source.path}: unreadable ({type(exc).__name__}: {exc})")


# --- the evaluation ---------------------------------------------------------------------------
@dataclass
class FullEvaluation:
    methods: list[str]
    hide: str = "blur"
    ids: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    per_sample: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    tiles: list[dict[str, np.ndarray]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, sample: FullSample, outputs: dict[str, np.ndarray], lpips, keep_tiles: bool) -> None:
        self.ids.append(sample.id)
        self.people.append(sample.identity)
        self.sources.append(sample.source)
        self.frames.append(sample.frame)
        self.boxes.append(sample.box)
        for method in self.methods:
            scores = score_full(outputs[method], sample, lpips)
            row = self.per_sample.setdefault(method, {})
            for name, value in scores.items():
                row.setdefault(name, []).append(value)
        if keep_tiles:
            tiles = {
                "interior hidden": grid_tile(sample.hidden, sample.box),
                "truth": grid_tile(sample.image, sample.box),
            }
            tiles.update({m: grid_tile(outputs[m], sample.box) for m in self.methods})
            self.tiles.append(tiles)

    def summary(self) -> dict[str, dict[str, dict]]:
        return method_summaries(self.methods, self.per_sample, self.people)

    def paired(self, a: str = "model", b: str = "telea") -> dict[str, dict]:
        return method_differences(self.per_sample, self.people, [(a, b)])

    def to_json(self) -> dict:
        return {
            "samples": len(self),
            "sample_ids": self.ids,
            "sample_sources": self.sources,
            "sample_frames": self.frames,
            "mouth_boxes": [list(b) for b in self.boxes],
            **scores_report(self.methods, self.per_sample, self.people),
            "unavailable": self.unavailable,
            "errors": self.errors,
            "scoring": {
                "resolution": "original image",
                "interior": "inner-lip polygon dilated by geometry.mask_dilation reference-crop px, >= 0.5",
                "hidden": "the interior: white for the classical fillers; for the synthesizer "
                f"filled with {self.hide!r} from outside it; landmarks found on the original",
                "box": f"square, {BOX_GROW} x the outer lips' larger side",
                "lpips_side": LPIPS_SIDE,
            },
        }


def evaluate_full(
    sources: Sequence[FullSource],
    synth,
    baselines: Sequence[str] = ("telea", "ns", "blur"),
    blends: Sequence[str] = ("alpha", "poisson"),
    every: int = VIDEO_EVERY,
    max_samples: int | None = None,
    min_open: float | None = None,
    keep_tiles: bool = True,
    progress: bool = False,
    hide: str = "blur",
) -> FullEvaluation:
    """Full-resolution scores of every method on every open mouth of ``sources``."""
    methods = list(baselines) + ["model" if b == "alpha" else f"model+{b}" for b in blends]
    result = FullEvaluation(methods, hide=hide)
    lpips = lpips_or_reason(result.unavailable)
    min_open = synth.cfg.data.min_open if min_open is None else min_open
    samples = iter_samples(
        sources, synth.landmarks, synth.cfg.geometry, min_open, every, result.errors.append
    )
    for sample in samples:
        result.add(sample, run_full_methods(sample, synth, baselines, blends, hide), lpips, keep_tiles)
        if progress:
            print(f"\r{len(result)} full-resolution samples", end="", file=sys.stderr, flush=True)
        if max_samples is not None and len(result) >= max_samples:
            break
    if progress:
        print(file=sys.stderr)
    return result
