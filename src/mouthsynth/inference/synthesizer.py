"""The Python API: ``MouthSynthesizer`` fills the mouth interior of every face with an open mouth,
on images and on videos. With the default ONNX backend nothing here imports torch.

    from mouthsynth import MouthSynthesizer
    synth = MouthSynthesizer()            # the shipped default model
    result = synth(rgb_uint8_image)       # result.image, result.faces, result.mask
    synth.process_video("in.mp4", "out.mp4")
"""

from __future__ import annotations

import importlib.resources
import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mouthsynth.config import Config, load_config, set_value
from mouthsynth.errors import InputError, ModelError
from mouthsynth.geometry import (
    MouthCrop,
    alpha_in_image,
    crop_alpha,
    cut_mouth,
    global_box_corners,
    mouth_open,
)
from mouthsynth.geometry.mouth import mouth_axes
from mouthsynth.inference.compositing import border_match, composite, fill_detail
from mouthsynth.landmarks import FaceLandmarks, LandmarkBackend, create_backend
from mouthsynth.landmarks.base import box_iou


def default_model_path() -> Path:
    """The generator that ships inside the package."""
    path = Path(str(importlib.resources.files("mouthsynth") / "models" / "default.onnx"))
    if not path.is_file():
        raise ModelError(f"{path}: the default model is missing from this installation (pass --model)")
    return path


@dataclass
class FaceResult:
    mouth_open: float
    box: np.ndarray  # 4 x 2 global-crop corners, image px
    local_box: tuple[int, int, int, int]  # in global-crop px
    mask: np.ndarray  # image-sized float32 alpha of what changed (zeros when not synthesised)
    synthesised: bool
    reason: str = ""
    landmarks: FaceLandmarks | None = None

    def zoom_box(self, shape: tuple[int, ...], grow: float = 1.3) -> tuple[int, int, int, int]:
        """An axis-aligned square around the global crop, grown and clipped to the image."""
        h, w = shape[:2]
        centre = self.box.mean(0)
        side = float(np.ptp(self.box, axis=0).max()) * grow
        side = min(side, h, w)
        x0 = int(np.clip(round(centre[0] - side / 2), 0, w - side))
        y0 = int(np.clip(round(centre[1] - side / 2), 0, h - side))
        return x0, y0, x0 + int(side), y0 + int(side)


@dataclass
class Result:
    image: np.ndarray  # the output, RGB uint8
    white_filled: np.ndarray  # the input with every synthesised interior set to white
    mask: np.ndarray  # image-sized float32: union of the per-face alphas
    faces: list[FaceResult] = field(default_factory=list)

    @property
    def synthesised(self) -> int:
        return sum(f.synthesised for f in self.faces)


def _load_generator(model: str | Path | None, backend: str, device: str):
    if backend == "onnx":
        from mouthsynth.inference.onnx_generator import OnnxGenerator

        path = Path(model) if model is not None else default_model_path()
        if path.is_dir() or path.suffix != ".onnx":
            raise ModelError(
                f"{path}: the onnx backend needs an .onnx file (use --backend torch for checkpoints)"
            )
        providers = None
        if device == "cuda":
            import onnxruntime as ort

            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ModelError("--device cuda: this onnxruntime has no CUDA provider (use --device cpu)")
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        elif device != "cpu":
            raise ModelError(f"--device {device!r}: use cpu or cuda")
        return OnnxGenerator(path, providers=providers)
    if backend == "torch":
        if model is None:
            raise ModelError("--backend torch needs --model: a checkpoint folder or a run folder")
        from mouthsynth.inference.torch_generator import TorchGenerator

        return TorchGenerator(model, device)
    raise ModelError(f"unknown backend {backend!r} (onnx or torch)")


def mask_crop(
    image: np.ndarray,
    mask: np.ndarray,
    size: int,
    cfg: Config,
    crop_side: Callable[[np.ndarray], int] | None = None,
) -> MouthCrop:
    """A crop centred on a user mask when no face is found: no roll, side from the mask's extent.
    ``crop_side`` (outer lips -> side) picks a side other than ``size`` for large masks."""
    ys, xs = np.nonzero(mask >= 0.5)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    width = max(x1 - x0, (y1 - y0) * 1.6, 8)  # a mouth is wider than tall: treat the box as lips
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    # Pretend outer lips a bit larger than the mask, so the crop matches what training saw.
    outer = np.array(
        [[cx - width * 0.6, cy], [cx, cy - width * 0.3], [cx + width * 0.6, cy], [cx, cy + width * 0.3]],
        np.float32,
    )
    inner = outer.copy()
    face = FaceLandmarks(inner, outer, (float(x0), float(y0), float(x1), float(y1)), outer, "mask")
    if crop_side is not None:
        size = crop_side(outer)
    crop = cut_mouth(image, face, size, cfg.geometry, interior_mask=mask)
    crop.mouth_open = 1.0  # the user says: fill this
    return crop


class MouthSynthesizer:
    def __init__(
        self,
        model: str | Path | None = None,
        backend: str = "onnx",
        device: str = "cpu",
        config: Config | None = None,
        blend: str | None = None,
        landmarks: LandmarkBackend | None = None,
    ):
        self.cfg = config or load_config()
        if blend is not None:
            set_value(self.cfg, "inference.blend", blend)
        self.generator = _load_generator(model, backend, device)
        self.size = int(self.generator.crop_size)
        largest = int(getattr(self.generator, "max_crop_size", self.size))
        cap = self.cfg.inference.max_crop_size
        self.max_size = max(self.size, min(largest, cap) if cap > 0 else largest)
        self.min_size = min(max(self.size, self.cfg.inference.min_crop_size // 32 * 32), self.max_size)
        # The crop geometry the model was trained with travels in its metadata.
        meta = getattr(self.generator, "metadata", {}) or {}
        if "mouthsynth.global_scale" in meta:
            self.cfg.geometry.global_scale = float(meta["mouthsynth.global_scale"])
        if "mouthsynth.mask_dilation" in meta:
            self.cfg.geometry.mask_dilation = float(meta["mouthsynth.mask_dilation"])
        self._landmarks = landmarks

    def crop_side(self, outer_lip: np.ndarray) -> int:
        """The side to cut this mouth's crop at: its global crop's own size in image pixels,
        rounded up to a multiple of 32, between the model's base side and ``max_size``."""
        if self.max_size <= self.min_size:
            return self.min_size
        _, _, width = mouth_axes(np.asarray(outer_lip, np.float64))
        side = self.cfg.geometry.global_scale * width
        return int(np.clip(int(np.ceil(side / 32)) * 32, self.min_size, self.max_size))

    def generate(self, crops: list[MouthCrop]) -> dict[int, np.ndarray]:
        """``id(crop)`` -> the generated crop (uint8), one generator call per crop side."""
        done: dict[int, np.ndarray] = {}
        for side in sorted({c.size for c in crops}):
            group = [c for c in crops if c.size == side]
            generated = self.generator.run_crops(
                np.stack([c.white_filled for c in group]), np.stack([c.mask for c in group])
            )
            done.update({id(c): g for c, g in zip(group, generated, strict=True)})
        return done

    @property
    def landmarks(self) -> LandmarkBackend:
        if self._landmarks is None:
            self._landmarks = create_backend(self.cfg.landmarks)
        return self._landmarks

    # --- images --------------------------------------------------------------------------
    def __call__(self, image: np.ndarray, mask: np.ndarray | None = None) -> Result:
        """Fill every open mouth in ``image`` (RGB uint8). ``mask`` (image-sized, white/1 = fill)
        replaces the inner-lip interior: landmarks then only place the crop."""
        image = _check_image(image)
        if mask is not None:
            mask = check_mask(mask, image.shape)
        faces = self.landmarks.detect(image)
        if mask is not None:
            if not faces:
                crop = mask_crop(image, mask, self.size, self.cfg, self.crop_side)
                return self.fill_crops(image, [(None, crop)], limit=mask)
            # The user's mask belongs to the face nearest to it.
            ys, xs = np.nonzero(mask >= 0.5)
            centre = np.array([xs.mean(), ys.mean()])
            face = min(faces, key=lambda f: np.linalg.norm(f.outer_lip.mean(0) - centre))
            side = self.crop_side(face.outer_lip)
            crop = cut_mouth(image, face, side, self.cfg.geometry, interior_mask=mask)
            crop.mouth_open = max(crop.mouth_open, 1.0)  # the user says: fill this
            return self.fill_crops(image, [(face, crop)], limit=mask)
        return self.fill_faces(image, faces)

    def fill_faces(
        self,
        image: np.ndarray,
        faces: list[FaceLandmarks],
        force: bool = False,
        feather_outward: bool | None = None,
    ) -> Result:
        """Fill the given faces (e.g. from tracking or a renderer's landmarks).
        ``feather_outward``: overrides ``geometry.feather_outward`` (None: the config's)."""
        crops = [(f, cut_mouth(image, f, self.crop_side(f.outer_lip), self.cfg.geometry)) for f in faces]
        return self.fill_crops(image, crops, force=force, feather_outward=feather_outward)

    def fill_crops(
        self,
        image: np.ndarray,
        crops: list[tuple[FaceLandmarks | None, MouthCrop]],
        force: bool = False,
        limit: np.ndarray | None = None,
        feather_outward: bool | None = None,
    ) -> Result:
        """Fill the crops whose mouth is open (all with ``force``), every face in one generator
        call. ``limit`` (image-sized, e.g. a user's mask): no pixel where it is 0 changes, so the
        feather grows inward there instead of past the mask's edge. ``feather_outward``: as
        ``fill_faces``."""
        geometry = self.cfg.geometry
        if feather_outward is not None:
            geometry = replace(geometry, feather_outward=feather_outward)
        out = image.copy()
        white = image.copy()
        union = np.zeros(image.shape[:2], np.float32)
        results: list[FaceResult] = []
        todo = [(f, c) for f, c in crops if force or c.mouth_open >= self.cfg.geometry.min_open]
        done = self.generate([c for _, c in todo])
        detail, border = fill_detail(self.cfg.inference), border_match(self.cfg.inference)
        for face, crop in crops:
            if id(crop) not in done:
                results.append(
                    FaceResult(
                        crop.mouth_open,
                        global_box_corners(crop),
                        crop.local_box,
                        np.zeros(image.shape[:2], np.float32),
                        False,
                        "mouth closed",
                        face,
                    )
                )
                continue
            alpha_crop = crop_alpha(crop, cfg=geometry)
            pasted = composite(
                out,
                crop,
                done[id(crop)],
                self.cfg.inference.blend,
                alpha=alpha_crop,
                detail=detail,
                border=border,
            )
            # Exactly the pixels paste-back may change (same warp, same support).
            alpha = alpha_in_image(crop, alpha_crop)
            if limit is not None:
                alpha = np.where(limit > 0, alpha, 0.0).astype(np.float32)
                pasted = np.where(limit[..., None] > 0, pasted, out)
            out = pasted
            white = np.clip(white * (1 - alpha[..., None]) + 255 * alpha[..., None], 0, 255).astype(np.uint8)
            union = np.maximum(union, alpha)
            results.append(
                FaceResult(crop.mouth_open, global_box_corners(crop), crop.local_box, alpha, True, "", face)
            )
        return Result(out, white, union, results)

    # --- personalised models ---------------------------------------------------------------
    def personalize(
        self,
        inputs: str | Path | list[str | Path],
        out: str | Path,
        minutes: float | None = 5.0,
        steps: int | None = None,
        overwrite: bool = False,
        progress: bool = True,
        **kwargs,
    ) -> MouthSynthesizer:
        """Fine-tune the shipped generator on one person's footage (videos, images, folders),
        write the model to ``out`` (.onnx, card beside it) and return a synthesiser that uses it
        with this one's settings. Needs the training extra (torch); ``kwargs`` go to
        ``mouthsynth.training.personalize.personalize`` (``state``, ``overrides``, ``note``)."""
        import copy

        from mouthsynth.training.personalize import personalize  # the training stack, only here

        paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
        result = personalize(
            [Path(p) for p in paths], out, minutes, steps, overwrite, progress=progress, **kwargs
        )
        cfg = copy.deepcopy(self.cfg)
        return MouthSynthesizer(result.model, config=cfg, landmarks=self._landmarks)

    # --- videos --------------------------------------------------------------------------
    def video_writer(self, path: str | Path, fps, width: int, height: int, **kwargs):
        """A VideoWriter with this configuration's H.264 settings (``inference.video_crf`` and
        ``video_preset``); ``kwargs`` (audio_from, overwrite) go to VideoWriter."""
        from mouthsynth.io.video import VideoWriter

        inf = self.cfg.inference
        return VideoWriter(path, fps, width, height, crf=inf.video_crf, preset=inf.video_preset, **kwargs)

    def video_crop_side(self, outer_lip: np.ndarray) -> int:
        """``crop_side``, capped by ``inference.video_max_crop_size`` when that is set."""
        side = self.crop_side(outer_lip)
        cap = self.cfg.inference.video_max_crop_size
        return max(self.size, min(side, cap // 32 * 32)) if cap > 0 else side

    def process_video(
        self,
        in_path: str | Path,
        out_path: str | Path,
        overwrite: bool = False,
        progress: bool = True,
        max_frames: int | None = None,
    ) -> dict:
        """Stream ``in_path`` to ``out_path``: same frame count, fps and size, audio copied.
        With ``inference.video_threads`` decoding and encoding run in threads of their own.
        The stats include ``seconds_by_stage`` (decode and encode: their threads' busy time)."""
        from tqdm import tqdm

        from mouthsynth.io.video import Prefetcher, VideoReader

        stats = {"frames": 0, "synthesised": 0, "no_face": 0, "closed": 0, "seconds": 0.0}
        start = time.perf_counter()
        threads = self.cfg.inference.video_threads
        with VideoReader(in_path) as reader:
            filler = VideoFiller(self, fps=float(reader.fps))
            writer = self.video_writer(
                out_path,
                reader.fps,
                reader.width,
                reader.height,
                audio_from=in_path,
                overwrite=overwrite,
                threaded=threads,
            )
            # The faces are tracked as the frames are decoded: with threads that is in the decoding
            # thread, ahead of the fill (tracking needs only the last frame's faces), so the
            # frame loop's own work is the fill alone.
            fps = float(reader.fps)
            decoded = itertools.islice(reader, max_frames)
            tracked = ((f, filler.track(f, i / fps)) for i, f in enumerate(decoded))
            frames = Prefetcher(tracked) if threads else _Timed(tracked)
            try:
                bar = tqdm(
                    total=reader.frame_count or None, unit="frame", disable=not progress, dynamic_ncols=True
                )
                for frame, faces in frames:
                    out, status = filler.fill_tracked(frame, faces)
                    stats[status] += 1
                    t0 = time.perf_counter()
                    writer.write(out)
                    filler.times["encode_wait"] += time.perf_counter() - t0
                    stats["frames"] += 1
                    bar.update(1)  # tqdm shows the rate in frame/s
                bar.total = stats["frames"]  # the container's count can be an estimate
                bar.close()
            except BaseException:
                frames.close()
                writer.abort()
                raise
            frames.close()
            writer.close()
        stats["seconds"] = time.perf_counter() - start
        # The decoding thread's busy time includes the tracking, counted as landmarks.
        decode = frames.busy - filler.times["landmarks"]
        stages = {"decode": decode, **{k: v for k, v in filler.times.items() if k != "encode_wait"}}
        stages["encode"] = writer.busy if threads else filler.times["encode_wait"]
        stats["seconds_by_stage"] = stages
        stats["threads"] = threads
        return stats


class _Timed:
    """The frames of a reader, timed, in the calling thread (``Prefetcher``'s interface)."""

    def __init__(self, items):
        self._it = iter(items)
        self.busy = 0.0

    def __iter__(self):
        while True:
            start = time.perf_counter()
            item = next(self._it, None)
            self.busy += time.perf_counter() - start
            if item is None:
                return
            yield item

    def close(self) -> None:
        pass


class VideoFiller:
    """The frame loop of ``process_video``: landmarks tracked over frames, every open mouth cut
    at its own side (capped by ``inference.video_max_crop_size``), generated, temporally
    filtered (``inference.video_temporal``) and pasted back.

    ``filler(frame, t)`` -> (output frame, "synthesised" | "closed" | "no_face"). The two halves
    can be called apart: ``track(frame, t)`` finds the faces, ``fill(image, tracked)`` fills the
    open ones in ``image`` (``mouthsynth evaluate`` tracks the original frame and fills a copy
    with the interior hidden). Several fillers may share one tracker (each keeps its own
    temporal state per face). ``temporal``: the filter's strength (None: the config's) or a
    ``TemporalFilter``. ``times`` adds up seconds per stage."""

    def __init__(
        self,
        synth: MouthSynthesizer,
        tracker: FaceTracker | None = None,
        temporal=None,
        fps: float = 30.0,
    ):
        from mouthsynth.errors import ConfigError
        from mouthsynth.inference.temporal import TemporalFilter

        self.synth = synth
        self.tracker = tracker or FaceTracker(synth.cfg, fps=fps)
        inf = synth.cfg.inference
        if isinstance(temporal, TemporalFilter):
            self.filter = temporal
        else:
            strength = inf.video_temporal if temporal is None else temporal
            try:
                self.filter = TemporalFilter(
                    strength,
                    inf.video_temporal_motion,
                    inf.video_temporal_cut,
                    inf.video_temporal_sigma,
                    inf.video_temporal_warp,
                    inf.video_temporal_detail,
                )
            except ValueError as exc:
                raise ConfigError(f"config keys 'inference.video_temporal*': {exc}") from exc
        self._key = ("temporal", id(self))  # this filler's state in the tracker's track dicts
        self.times: dict[str, float] = defaultdict(float)

    def track(self, frame: np.ndarray, t: float) -> list[tuple[FaceLandmarks, bool, dict]]:
        """Every face: its smoothed landmarks, whether it counts as open, and its track."""
        start = time.perf_counter()
        faces = self.tracker.update(self.synth.landmarks, frame, t)
        self.times["landmarks"] += time.perf_counter() - start
        return [(f, is_open, tr) for (f, is_open), tr in zip(faces, self.tracker.tracks, strict=True)]

    def fill(
        self, image: np.ndarray, tracked: list[tuple[FaceLandmarks, bool, dict]]
    ) -> tuple[np.ndarray, int]:
        """Fill the open faces of ``tracked`` in ``image``: the output frame and how many faces
        were filled. The frame is what ``fill_crops`` gives for the same crops (with the
        temporal filter and the photos' detail stage, ``inference.fill_detail``, off), without
        the image-sized masks and white-filled copy it also builds: only the pixels around each
        mouth are touched."""
        from mouthsynth.inference.temporal import TemporalState

        synth, inf = self.synth, self.synth.cfg.inference
        start = time.perf_counter()
        todo = []
        for face, is_open, track in tracked:
            state = track.setdefault(self._key, TemporalState())
            if not is_open:
                if state.fill is not None:
                    state.reset()
                continue
            crop = cut_mouth(image, face, synth.video_crop_side(face.outer_lip), synth.cfg.geometry)
            todo.append((crop, state))
        if not todo:
            return image, 0
        now = time.perf_counter()
        self.times["crops"] += now - start
        generated = synth.generate([c for c, _ in todo])
        start, now = now, time.perf_counter()
        self.times["generation"] += now - start
        for crop, state in todo:
            generated[id(crop)] = self.filter(state, crop, generated[id(crop)])
        start, now = now, time.perf_counter()
        self.times["temporal"] += now - start
        out = image  # composite() returns a new image: the input is never changed
        border = border_match(inf)
        for crop, _ in todo:
            alpha = crop_alpha(crop, cfg=synth.cfg.geometry)
            out = composite(out, crop, generated[id(crop)], inf.blend, alpha=alpha, border=border)
        self.times["compositing"] += time.perf_counter() - now
        return out, len(todo)

    def __call__(self, frame: np.ndarray, t: float) -> tuple[np.ndarray, str]:
        return self.fill_tracked(frame, self.track(frame, t))

    def fill_tracked(
        self, frame: np.ndarray, tracked: list[tuple[FaceLandmarks, bool, dict]]
    ) -> tuple[np.ndarray, str]:
        """``fill`` with the frame's status: (output frame, "synthesised" | "closed" | "no_face")."""
        if not tracked:
            return frame, "no_face"
        out, filled = self.fill(frame, tracked)
        return out, "synthesised" if filled else "closed"


class FaceTracker:
    """Landmarks over video frames: the face detector only when needed (tracking from the last
    frame's boxes), One-Euro smoothing of the lips per face, and hysteresis on open/closed so the
    mask does not flicker on and off around the threshold. ``tracks`` lists the current faces'
    tracks (dicts), in the order ``update`` returned them."""

    # While every face is tracked, new faces are looked for every ``inference.video_quick_detect_s``
    # by a quick detector pass at the frame's own resolution (faces from ~80 px), and by the full,
    # upsampled one (faces from ~60 px; 4x the cost, 0.45 s on a 720p frame on 2 cores) every
    # ``inference.video_full_detect_s`` (default: never while tracked). At the start and when a
    # face is lost, the quick pass runs first, and the full detector only if it finds nothing
    # (or fewer faces than were tracked). The constants below are the 1 s / 5 s schedule in
    # frames at 30 fps.
    REFRESH_EVERY = 30
    REDETECT_EVERY = 150
    # Hysteresis around geometry.min_open: a closed mouth must open past 1.2x the threshold to
    # be filled, an open one must close below 0.8x to stop, so the mask cannot blink.
    OPEN_ABOVE = 1.2
    CLOSE_BELOW = 0.8

    def __init__(
        self, cfg: Config, propose: Callable[[np.ndarray], list[tuple]] | None = None, fps: float = 30.0
    ):
        from mouthsynth.landmarks.smoothing import OneEuroFilter

        self.cfg = cfg
        self._filter = OneEuroFilter
        self.tracks: list[dict] = []
        self.frame = 0
        self._propose = propose
        inf = cfg.inference
        self.refresh_every = _every(inf.video_quick_detect_s, fps)
        self.redetect_every = _every(inf.video_full_detect_s, fps)
        # With video_threads the periodic quick pass runs beside the frame loop (dlib releases
        # the GIL): its new boxes are meshed on the frame after it finishes, not on the frame it
        # looked at, and the loop does not wait for it (a 720p pass is ~80 ms, once a second).
        self.background = inf.video_threads
        self._pending: Future | None = None

    def propose(self, frame: np.ndarray) -> list[tuple]:
        """Face boxes from the quick pass (no upsampling)."""
        if self._propose is None:
            from mouthsynth.landmarks.detector import HogFaceDetector

            self._propose = HogFaceDetector(upsample_below=0)
        return self._propose(frame)

    def _boxes(self, frame: np.ndarray) -> list[tuple] | None:
        """The boxes to mesh this frame, or None for a full detection."""
        if not self.tracks or (self.redetect_every and self.frame % self.redetect_every == 0):
            return None
        boxes = [tr["box"] for tr in self.tracks]
        due = bool(self.refresh_every) and self.frame % self.refresh_every == 0
        found: list[tuple] = []
        if self.background:
            if self._pending is not None and self._pending.done():
                found, self._pending = self._pending.result(), None
            if due and self._pending is None:
                self._pending = _detect_pool().submit(self.propose, frame)
        elif due:
            found = self.propose(frame)
        return boxes + [b for b in found if all(box_iou(b, t) < 0.3 for t in boxes)]

    def update(
        self, backend: LandmarkBackend, frame: np.ndarray, t: float
    ) -> list[tuple[FaceLandmarks, bool]]:
        boxes = self._boxes(frame)
        if boxes is None and self.tracks:  # the periodic full detection
            faces = backend.detect(frame)
        else:
            faces = backend.detect(frame, boxes) if boxes is not None else []
            wanted = max(1, len(self.tracks))
            if len(faces) < wanted:
                # No face yet, or one was lost (a cut, a fast turn): the quick pass finds faces
                # that are not small at a fifth of the full detector's cost; the full one runs
                # if it finds fewer than were tracked (or none).
                quick = self.propose(frame)
                faces = backend.detect(frame, quick) if quick else []
                if len(faces) < wanted:
                    faces = backend.detect(frame)
        self.frame += 1
        inf = self.cfg.inference
        new_tracks, out = [], []
        for face in faces:
            match = max(self.tracks, key=lambda tr: box_iou(tr["box"], face.face_box), default=None)
            if match is None or box_iou(match["box"], face.face_box) < 0.3 or match in new_tracks:
                match = {"filter": self._filter(inf.smooth_min_cutoff, inf.smooth_beta), "open": False}
            lips = np.concatenate([face.inner_lip, face.outer_lip])
            smooth = match["filter"](lips, t)
            k = len(face.inner_lip)
            face = FaceLandmarks(smooth[:k], smooth[k:], face.face_box, face.points, face.backend)
            value = mouth_open(face.inner_lip)
            threshold = self.cfg.geometry.min_open
            match["open"] = value >= threshold * (self.CLOSE_BELOW if match["open"] else self.OPEN_ABOVE)
            match["box"] = face.face_box
            new_tracks.append(match)
            out.append((face, match["open"]))
        self.tracks = new_tracks
        return out


_DETECT_POOL: ThreadPoolExecutor | None = None


def _detect_pool() -> ThreadPoolExecutor:
    """The background quick passes' one thread, shared by every tracker in the process (a pool
    per tracker left an idle thread behind for every video; dlib's detector runs one call at a
    time anyway)."""
    global _DETECT_POOL
    if _DETECT_POOL is None:
        _DETECT_POOL = ThreadPoolExecutor(1, thread_name_prefix="mouthsynth-detect")
    return _DETECT_POOL


def _every(seconds: float, fps: float) -> int:
    """A period in seconds as a number of frames (at least 1); 0 stays 0 (never)."""
    return max(1, round(seconds * fps)) if seconds > 0 else 0


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        raise InputError(
            "<array>", f"expected an RGB uint8 H x W x 3 image, got {shape} {getattr(image, 'dtype', '')}"
        )
    return image


def check_mask(mask: np.ndarray, shape: tuple[int, ...], name: str = "<mask>") -> np.ndarray:
    """Image-sized float32 in [0, 1] (uint8 0..255 or float 0..1 accepted; 1 = fill)."""
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[..., 0]
    if mask.ndim != 2 or mask.shape != shape[:2]:
        got = "x".join(map(str, mask.shape[::-1]))
        raise InputError(name, f"mask of {got} does not match the image {shape[1]}x{shape[0]}")
    scale = 255.0 if mask.dtype == np.uint8 or mask.max() > 1.0 else 1.0
    mask = np.clip(mask.astype(np.float32) / scale, 0.0, 1.0)
    if (mask >= 0.5).sum() == 0:
        raise InputError(name, "mask is empty (white = area to fill)")
    return mask


__all__ = ["FaceResult", "FaceTracker", "MouthSynthesizer", "Result", "VideoFiller", "default_model_path"]
