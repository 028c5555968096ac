"""Personalised models: fine-tune the shipped generator on one person's own footage.

``personalize(inputs, out)`` finds the open-mouth frames of the footage (``data.prepare`` into a
temporary folder), checks that it shows one person with enough open mouths, continues the
committed training state (``models/default_state``: the shipped generator and its EMA) on those
frames within a wall-time budget, and writes an ONNX model with its JSON card. Nothing is written
when anything fails, and the shipped model and state are only ever read.

The recipe (``RECIPE``) was chosen by measurement for a 5-minute budget on 2 CPU cores
(``benchmarks/personalize_holdout.py``, fit on a speaker's first 60%, scored on the rest): 128-px
crops only, batches of 8, boundary-weighted L1 alone at lr 3e-4 (the VGG perceptual loss costs
twice the step and, at equal steps, gave a worse held-out L1 and the same LPIPS; the GAN terms are
off: the state holds no discriminators and fresh ones would need most of the budget to warm up),
and a short EMA (0.9) so the exported weights follow the fit.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import math
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mouthsynth.config import Config, load_config, parse_override, set_value
from mouthsynth.errors import ConfigError, InputError, NoFaceError, OutputExistsError

# Fewer open-mouth frames than this cannot teach the generator a person's mouth.
MIN_OPEN_FRAMES = 20
# Video frames read for fitting at most (every Nth frame beyond that): keeps preparation to a
# small share of the budget on long footage.
MAX_FRAMES_READ = 400
# A second face in this share of the frames with a face (and in at least MULTI_MIN frames, or in
# every frame of shorter footage) means the footage shows more than one person.
MULTI_SHARE = 0.1
MULTI_MIN = 3
# Share of closed-mouth samples kept, as in the default training data.
CLOSED_SHARE = 0.05
# Seconds kept back from the budget for the ONNX export and its check.
EXPORT_RESERVE_S = 15.0
DEFAULT_MINUTES = 5.0

# configs/train_default.yaml as far as the network and its losses go: the config the default state
# was trained with, used when the state carries no config.yaml of its own.
TRAIN_DEFAULT = {
    "data.size": 128,
    "data.sizes": "128,192,256",
    "data.identity_balance": 1.0,
    "model.width": 1.0,
    "model.disc_channels": 32,
    "losses.perceptual_net": "vgg16",
    "losses.perceptual_crop": "local",
}

# The fine-tuning recipe on top of the base config (every key a --set away).
RECIPE = {
    "data.sizes": "",  # 128 px only: the multi-size batches cost the same per step, teach less here
    "train.batch_size": 8,
    "train.lr": 3e-4,
    "train.warmup_steps": 0,
    "train.ema_decay": 0.9,
    "train.num_workers": 0,
    "losses.l1": 1.0,  # as measured; the default state's own weight (30) only mattered beside the GAN terms
    "losses.perceptual": 0.0,  # VGG doubles the step; at equal steps L1 alone did as well here
    "losses.adv_global": 0.0,
    "losses.adv_local": 0.0,
    "losses.fm_global": 0.0,
    "losses.fm_local": 0.0,
    # The recipe was measured with L1 alone; the default model's temporal term (weight 5) would
    # outweigh it here and cost a second generator pass: 12 test steps with it raised held-out L1.
    "losses.temporal": 0.0,
    "train.log_every": 10,
    "train.image_every": 10**9,
    "train.val_every": 10**9,
    "train.ckpt_every": 10**9,
    "train.keep_last": 1,
}


def default_state_path() -> Path:
    return Path(str(importlib.resources.files("mouthsynth") / "models" / "default_state"))


def base_config(state: Path) -> Config:
    """The config the state was trained with: its own ``config.yaml`` when it has one, else the
    defaults of ``mouthsynth.config`` with ``configs/train_default.yaml``'s settings."""
    own = Path(state) / "config.yaml"
    if own.is_file():
        return load_config(own)
    cfg = load_config()
    for key, value in TRAIN_DEFAULT.items():
        set_value(cfg, key, value)
    return cfg


def recipe_config(state: Path, overrides: Iterable[str] = ()) -> Config:
    """The base config, the fine-tuning recipe, then ``KEY=VALUE`` overrides."""
    cfg = base_config(state)
    for key, value in RECIPE.items():
        set_value(cfg, key, value)
    for text in overrides:
        set_value(cfg, *parse_override(text))
    # The same validation every config gets.
    from mouthsynth.config import _validate

    _validate(cfg)
    return cfg


@dataclass
class Footage:
    """The prepared frames of one person's footage, in a dataset folder Trainer reads."""

    root: Path
    sources: list[str]
    frames_read: int
    every: int
    faces: int
    open_frames: int
    closed_kept: int
    seconds: float
    errors: list[str] = field(default_factory=list)


def _video_frames(path: Path) -> int:
    from mouthsynth.io.video import VideoReader

    try:
        with VideoReader(path) as reader:
            return int(reader.frame_count or 0)
    except Exception:  # unreadable: prepare reports it
        return 0


def prepare_footage(
    inputs: Sequence[Path],
    root: Path,
    cfg: Config,
    min_frames: int = MIN_OPEN_FRAMES,
    max_frames_read: int = MAX_FRAMES_READ,
    progress: bool = False,
) -> Footage:
    """Prepare ``inputs`` (one person's videos, images, folders) into ``root`` and check them: a
    face, one person, at least ``min_frames`` open mouths. Every failure is an InputError whose
    one line says what was found."""
    from mouthsynth.data.prepare import collect_sources, prepare
    from mouthsynth.io.images import is_video

    start = time.perf_counter()
    inputs = [Path(p) for p in inputs]
    files = collect_sources(inputs)
    where = inputs[0] if len(inputs) == 1 else f"{len(inputs)} inputs"
    if not files:
        raise InputError(where, "no videos or images found")
    video_frames = sum(_video_frames(f) for f in files if is_video(f))
    every = max(1, math.ceil(video_frames / max_frames_read))
    prep = copy.deepcopy(cfg)
    prep.data.every = every
    prep.data.closed_share = 1.0  # record every face, closed too: one-person check and counts
    prep.data.val_fraction = 0.0  # every sample in the train split
    errors: list[str] = []
    workers = min(2, len(files))
    summary = prepare(files, root, prep, workers=workers, progress=progress, on_error=errors.append)
    if summary.sources_done == 0:
        first = errors[0] if errors else "nothing could be read"
        raise InputError(where, f"no usable footage: {first}")
    manifest = root / "manifest.jsonl"
    records = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    frames_read = summary.frames
    if not records:
        if summary.skipped_small:
            raise InputError(
                where,
                f"faces too small: {summary.skipped_small} faces in {frames_read} frames, every mouth "
                "narrower than 24 px",
            )
        raise NoFaceError(where, f"in {frames_read} frames of {len(files)} files")
    per_frame: dict[tuple[str, int], set[int]] = defaultdict(set)
    for rec in records:
        per_frame[(rec["group"], rec["frame"])].add(rec["face"])
    with_face = len(per_frame)
    multi = sum(1 for faces in per_frame.values() if len(faces) > 1)
    if multi >= min(MULTI_MIN, with_face) and multi >= MULTI_SHARE * with_face:
        most = max(len(f) for f in per_frame.values())
        raise InputError(
            where,
            f"more than one person: up to {most} faces in a frame, 2 or more in {multi} of "
            f"{with_face} frames with a face (personalise on footage of one person)",
        )
    open_recs = [r for r in records if not r["closed"]]
    if len(open_recs) < min_frames:
        raise InputError(
            where,
            f"only {len(open_recs)} open-mouth frames (need at least {min_frames}): faces in "
            f"{with_face} of {frames_read} frames read, the mouth closed in "
            f"{len(records) - len(open_recs)} of them",
        )
    # Keep the open mouths and a few closed ones, as the default training data does.
    rng = np.random.default_rng(0)
    closed = [r for r in records if r["closed"]]
    n_closed = min(len(closed), round(CLOSED_SHARE * len(open_recs)))
    keep_closed = [closed[i] for i in sorted(rng.choice(len(closed), n_closed, replace=False))]
    kept = open_recs + keep_closed
    for rec in kept:
        rec["split"] = "train"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in kept))
    return Footage(
        root,
        [str(f) for f in files],
        frames_read,
        every,
        len(records),
        len(open_recs),
        n_closed,
        time.perf_counter() - start,
        errors,
    )


def _make_trainer(cfg: Config, root: Path, run_dir: Path, state: Path, bar):
    """A Trainer that continues ``state`` from the shipped (EMA) weights, logs to a bar instead
    of TensorBoard, and keeps no checkpoints (the result is the exported model)."""
    import torch

    from mouthsynth.training.trainer import Trainer

    class PersonalTrainer(Trainer):
        def _log(self, scalars: dict[str, float]) -> None:
            self.last_scalars = scalars

        def save(self, val=None):  # noqa: ARG002
            return None

        def train_step(self, batch: dict) -> dict[str, float]:
            out = super().train_step(batch)
            bar(self, out)
            return out

    trainer = PersonalTrainer(cfg, root, run_dir, progress=False, init_from=state)
    with torch.no_grad():
        # Start from the weights that ship (the EMA), not the raw generator behind them.
        trainer.G.load_state_dict(trainer.ema.model.state_dict())
    return trainer


class _Progress:
    """A progress bar in steps whose total follows the budget: losses, steps/s and time left."""

    def __init__(self, enabled: bool, steps: int | None, deadline: float):
        from tqdm import tqdm

        self.steps, self.deadline = steps, deadline
        self.bar = tqdm(total=steps or 1, disable=not enabled, dynamic_ncols=True, unit="step")
        self.done = 0
        self.t0 = time.perf_counter()

    def __call__(self, trainer, scalars: dict[str, float]) -> None:
        self.done += 1
        now = time.perf_counter()
        rate = self.done / max(now - self.t0, 1e-9)
        left_time = max(0.0, self.deadline - now)
        total = self.done + int(min(left_time * rate, 1e9))
        if self.steps is not None:
            total = min(total, self.steps)
        self.bar.total = max(total, self.done)
        left = min(left_time, (self.bar.total - self.done) / max(rate, 1e-9))
        post = {k.split("/")[-1]: f"{v:.3f}" for k, v in scalars.items()}
        post["left"] = f"{left:.0f}s"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


@dataclass
class PersonalizeResult:
    model: Path
    card_path: Path
    card: dict
    steps: int
    seconds: float
    fit_seconds: float
    frames: int
    losses: dict[str, float]


def personalize(
    inputs: Sequence[str | Path],
    out: str | Path,
    minutes: float | None = DEFAULT_MINUTES,
    steps: int | None = None,
    overwrite: bool = False,
    state: str | Path | None = None,
    overrides: Iterable[str] = (),
    progress: bool = True,
    note: Callable[[str], None] | None = None,
) -> PersonalizeResult:
    """Fine-tune the shipped generator on ``inputs`` (one person) and write ``out`` (.onnx) and
    its card (``out`` with .json). ``minutes`` bounds the whole run (preparation, fitting, export;
    None = no time limit), ``steps`` the fine-tuning steps; whichever comes first."""
    started = time.perf_counter()
    out = Path(out)
    state = Path(state) if state is not None else default_state_path()
    if out.suffix.lower() != ".onnx":
        raise ConfigError(f"{out}: the personalised model is written as an .onnx file")
    card_path = out.with_suffix(".json")
    for path in (out, card_path):
        if path.exists() and not overwrite:
            raise OutputExistsError(path)
    from mouthsynth.inference.synthesizer import default_model_path

    shipped = default_model_path()
    protected = {shipped.resolve(), shipped.with_suffix(".json").resolve()}
    if (
        out.resolve() in protected
        or card_path.resolve() in protected
        or state.resolve() in out.resolve().parents
    ):
        raise ConfigError(f"{out}: refusing to replace the shipped model; write the personal model elsewhere")
    if minutes is not None and minutes <= 0:
        raise ConfigError(f"--minutes {minutes}: must be > 0")
    if steps is not None and steps < 1:
        raise ConfigError(f"--steps {steps}: must be >= 1")
    from mouthsynth.training.state import read_state_info

    info = read_state_info(state)
    cfg = recipe_config(state, overrides)
    deadline = started + minutes * 60 if minutes is not None else math.inf
    with tempfile.TemporaryDirectory(prefix="mouthsynth-personalize-") as tmp:
        footage = prepare_footage(inputs, Path(tmp) / "data", cfg, progress=False)
        for message in footage.errors:
            if note:
                note(f"skipped {message}")
        if note:
            note(
                f"{footage.open_frames} open-mouth frames from {footage.frames_read} frames read "
                f"(every {footage.every}) in {footage.seconds:.0f} s"
            )
        fit_left = deadline - time.perf_counter() - EXPORT_RESERVE_S
        if fit_left < 10:
            raise InputError(
                inputs[0] if len(inputs) == 1 else f"{len(inputs)} inputs",
                f"preparing the footage took {footage.seconds:.0f} s of the {minutes:g}-minute budget, "
                "leaving no time to fit: pass a larger --minutes or less footage",
            )
        bar = _Progress(progress, steps, deadline - EXPORT_RESERVE_S)
        try:
            trainer = _make_trainer(cfg, footage.root, Path(tmp) / "run", state, bar)
            base_step = trainer.step
            max_steps = base_step + (steps if steps is not None else 10**9)
            fit_minutes = (deadline - EXPORT_RESERVE_S - time.perf_counter()) / 60
            if fit_minutes <= 0 and steps is None:
                raise InputError(str(inputs[0]), "no time left to fit: pass a larger --minutes")
            fit_start = time.perf_counter()
            final = trainer.fit(max_steps, fit_minutes if math.isfinite(fit_minutes) else None)
            fit_seconds = time.perf_counter() - fit_start
        finally:
            bar.close()
        done_steps = trainer.step - base_step
        try:
            net = trainer.ema.model
            trainer.close()
            result = _export(
                net,
                out,
                card_path,
                cfg,
                overwrite,
                shipped,
                state,
                info,
                footage,
                done_steps,
                fit_seconds,
                started,
                trainer,
                minutes,
            )
        except BaseException:
            # Nothing half-written: an ONNX without its card is removed too.
            for path in (out, card_path):
                if path.exists() and not overwrite:
                    path.unlink(missing_ok=True)
            raise
    losses = {k: float(v) for k, v in final.items() if k.startswith("g/")}
    return PersonalizeResult(
        out,
        card_path,
        result,
        done_steps,
        time.perf_counter() - started,
        fit_seconds,
        footage.open_frames,
        losses,
    )


def _export(
    net, out, card_path, cfg, overwrite, shipped, state, info, footage, steps, fit_seconds, started,
    trainer, minutes,
) -> dict:  # fmt: skip
    from datetime import date

    from mouthsynth.export.onnx_export import export_generator, model_card
    from mouthsynth.io.images import publish
    from mouthsynth.nets.weights import sha256

    card = model_card(cfg, Path(trainer.run_dir), {"exported": date.today().isoformat()})
    card.update(
        {
            "name": "mouthsynth generator, personalised",
            "steps": int(info["step"]) + steps,
            **trainer.perceptual_info(),
            "personalised": {
                "base_model": {
                    "path": str(shipped),
                    "sha256": sha256(shipped),
                    "state": str(state),
                    "state_step": int(info["step"]),
                },
                "sources": footage.sources,
                "frames_read": footage.frames_read,
                "every": footage.every,
                "frames_used": footage.open_frames,
                "closed_frames_used": footage.closed_kept,
                "steps": steps,
                "fit_seconds": round(fit_seconds, 1),
                "wall_seconds": round(time.perf_counter() - started, 1),  # export excluded
                "budget_minutes": minutes,
                "backbone": cfg.losses.perceptual_net if cfg.losses.perceptual > 0 else "none",
                "recipe": {
                    k: getattr(getattr(cfg, k.split(".")[0]), k.split(".")[1])
                    for k in RECIPE
                    if not k.endswith(("_every", "keep_last"))
                },
            },
        }
    )
    card.pop("validation", None)
    export_generator(net, cfg, out, card, overwrite=overwrite)
    fd, tmp = tempfile.mkstemp(dir=card_path.parent, prefix=f".{card_path.stem}.", suffix=".json")
    os.close(fd)
    try:
        Path(tmp).write_text(json.dumps(card, indent=2) + "\n")
        publish(Path(tmp), card_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return card


__all__ = [
    "MIN_OPEN_FRAMES",
    "RECIPE",
    "Footage",
    "PersonalizeResult",
    "base_config",
    "default_state_path",
    "personalize",
    "prepare_footage",
    "recipe_config",
]
