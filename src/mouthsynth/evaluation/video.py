"""Video evaluation: what ``mouthsynth video`` gives, frame after frame, scored in image pixels.

Every frame of a video (the first ``frames`` of it) goes through the frame loop of
``MouthSynthesizer.process_video`` (``VideoFiller``): the face tracker (detection schedule,
One-Euro smoothing, open/closed hysteresis) runs on the original frame, as it does for users, and
for every face it calls open:

1. the interior is the tracked inner-lip polygon in image pixels, dilated as the crop's mask is
   (``fullres.interior_mask``); it changes from frame to frame with the lips;
2. the frame with that interior hidden is all any method sees (``fullres.synthesizer_input``:
   blurred in from the lips for the model, white for OpenCV Telea, which inpaints exactly that
   interior in image pixels);
3. the model fills it through ``VideoFiller.fill``: crops at the video side, generator, temporal
   filter, paste-back, the same code ``mouthsynth video`` runs. ``model`` uses the configured
   temporal filter; ``model-frame`` the same tracker and crops with the filter off (every frame
   filled on its own), so the filter's effect is measured on identical inputs;
4. every result is composited the same way (the original outside the interior) and scored:
   L1 inside the interior and LPIPS on the mouth box (``fullres.score_full``), and flicker between
   consecutive output frames in image coordinates: the mean |change of the result − change of
   the truth| inside the union of both frames' interiors (a frame with no open mouth breaks the
   chain).

Means weigh people, not frames; 95% intervals bootstrap people (``evaluation.people``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mouthsynth.errors import MouthSynthError
from mouthsynth.evaluation import metrics as M
from mouthsynth.evaluation.fullres import (
    FullSample,
    FullSource,
    _baseline_full,
    interior_mask,
    lpips_or_reason,
    mouth_box,
    score_full,
    synthesizer_input,
)
from mouthsynth.evaluation.people import method_differences, method_summaries, scores_report

VIDEO_FRAMES = 100  # consecutive frames per video, from its start
MODEL = "model"
PER_FRAME = "model-frame"
PAIRS = ((MODEL, "telea"), (MODEL, PER_FRAME))


@dataclass
class VideoEvaluation:
    methods: list[str]
    temporal: dict[str, dict]
    frames_per_video: int
    hide: str = "blur"
    ids: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    per_sample: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    flicker: dict[str, list[float]] = field(default_factory=dict)
    flicker_people: list[str] = field(default_factory=list)
    videos: dict[str, dict] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def summary(self) -> dict[str, dict[str, dict]]:
        return method_summaries(self.methods, self.per_sample, self.people, self.flicker, self.flicker_people)

    def paired(self) -> dict[str, dict]:
        """``model - telea`` and ``model - model-frame``: per frame (per frame pair for flicker),
        summarised over people."""
        return method_differences(self.per_sample, self.people, PAIRS, self.flicker, self.flicker_people)

    def to_json(self) -> dict:
        return {
            "frames": len(self),
            "frame_pairs": len(self.flicker_people),
            "sample_ids": self.ids,
            **scores_report(
                self.methods, self.per_sample, self.people, PAIRS, self.flicker, self.flicker_people
            ),
            "videos": self.videos,
            "unavailable": self.unavailable,
            "errors": self.errors,
            "scoring": {
                "path": "VideoFiller (the frame loop of mouthsynth video), landmarks tracked on the "
                "original frames",
                "frames_per_video": self.frames_per_video,
                "temporal_filter": self.temporal,
                "interior": "tracked inner-lip polygon dilated by geometry.mask_dilation reference-crop "
                "px, >= 0.5, per frame in image px",
                "hidden": f"white for Telea; filled with {self.hide!r} from outside it for the model",
                "flicker": "consecutive output frames in image px, union of both interiors",
            },
        }


def _describe(filler) -> dict:
    f = filler.filter
    return {
        "strength": f.strength,
        "motion": f.motion,
        "cut": f.cut,
        "sigma": f.sigma,
        "warp": f.warp,
        "detail": f.detail,
    }


def _bbox(mask: np.ndarray, margin: int = 2) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    h, w = mask.shape
    return (
        max(int(xs.min()) - margin, 0),
        max(int(ys.min()) - margin, 0),
        min(int(xs.max()) + margin + 1, w),
        min(int(ys.max()) + margin + 1, h),
    )


def _pair_flicker(prev: dict, cur: dict, method: str) -> float:
    """Flicker between two consecutive frames, in the box around both interiors."""
    union = prev["hole"] | cur["hole"]
    box = _bbox(union)
    if box is None:
        return float("nan")
    x0, y0, x1, y1 = box

    def cut(a):
        return a[y0:y1, x0:x1]

    results = [cut(prev["out"][method]), cut(cur["out"][method])]
    truths = [cut(prev["truth"]), cut(cur["truth"])]
    masks = [cut(prev["hole"]).astype(np.float32), cut(cur["hole"]).astype(np.float32)]
    return M.flicker(results, truths, masks)


def evaluate_videos(
    sources: Sequence[FullSource],
    synth,
    baselines: Sequence[str] = ("telea",),
    frames: int = VIDEO_FRAMES,
    per_frame: bool = True,
    hide: str = "blur",
    lpips: bool = True,
    progress: bool = False,
    variants: dict | None = None,
) -> VideoEvaluation:
    """Score ``mouthsynth video``'s output on the first ``frames`` frames of every video in
    ``sources`` (photos are skipped); see the module doc. ``variants``: more labelled model
    runs on the same tracker (label -> temporal strength, ``TemporalFilter`` or ``VideoFiller``
    keyword arguments), for tuning."""
    from mouthsynth.inference.synthesizer import FaceTracker, VideoFiller
    from mouthsynth.io.video import VideoReader

    temporal = {MODEL: None}  # the configured filter
    if per_frame:
        temporal[PER_FRAME] = 0.0
    temporal.update(variants or {})
    # Every run as VideoFiller keyword arguments.
    temporal = {k: v if isinstance(v, dict) else {"temporal": v} for k, v in temporal.items()}
    methods = list(baselines) + list(temporal)
    described = {k: _describe(VideoFiller(synth, **v)) for k, v in temporal.items()}
    result = VideoEvaluation(methods, described, frames, hide)
    metric = lpips_or_reason(result.unavailable) if lpips else None
    for source in sources:
        if not source.is_video:
            continue
        name = source.path.stem
        counts = {"frames": 0, "scored": 0, "pairs": 0}
        try:
            with VideoReader(source.path) as reader:
                fps = float(reader.fps)
                tracker = FaceTracker(synth.cfg, fps=fps)
                fillers = {m: VideoFiller(synth, tracker, fps=fps, **v) for m, v in temporal.items()}
                first = next(iter(fillers.values()))
                prev = None
                for index, frame in enumerate(reader):
                    if index >= frames:
                        break
                    counts["frames"] += 1
                    tracked = first.track(frame, index / fps)
                    open_faces = [f for f, is_open, _ in tracked if is_open]
                    if not open_faces:
                        for filler in fillers.values():
                            filler.fill(frame, tracked)  # closed mouths reset the filters
                        prev = None
                        continue
                    interior = np.zeros(frame.shape[:2], np.float32)
                    for face in open_faces:
                        interior = np.maximum(interior, interior_mask(face, frame.shape, synth.cfg.geometry))
                    sample = FullSample(
                        f"{name}/{index:06d}",
                        source.identity,
                        str(source.path),
                        index,
                        0,
                        frame,
                        open_faces[0],
                        interior,
                        mouth_box(open_faces[0].outer_lip, frame.shape),
                    )
                    hole = sample.hole
                    outputs = {}
                    for b in baselines:
                        filled = _baseline_full(b, sample.hidden, sample)
                        outputs[b] = np.where(hole[..., None], filled, frame)
                    given = synthesizer_input(sample, hide)
                    for m, filler in fillers.items():
                        filled, _ = filler.fill(given, tracked)
                        outputs[m] = np.where(hole[..., None], filled, frame)
                    result.ids.append(sample.id)
                    result.people.append(source.identity)
                    for m in methods:
                        scores = score_full(outputs[m], sample, metric)
                        row = result.per_sample.setdefault(m, {})
                        for k in ("l1", "lpips"):
                            if k in scores:
                                row.setdefault(k, []).append(scores[k])
                    counts["scored"] += 1
                    cur = {"out": outputs, "truth": frame, "hole": hole}
                    if prev is not None:
                        for m in methods:
                            result.flicker.setdefault(m, []).append(_pair_flicker(prev, cur, m))
                        result.flicker_people.append(source.identity)
                        counts["pairs"] += 1
                    prev = cur
                    if progress:
                        print(f"\r{name}: {counts['scored']} frames", end="", file=sys.stderr, flush=True)
        except MouthSynthError as exc:
            result.errors.append(str(exc))
        result.videos[name] = {"identity": source.identity, **counts}
        if progress:
            print(file=sys.stderr)
    return result
