"""What the web app does, without the web: one ``Workbench`` per server holds the synthesisers,
a private temporary folder (uploads, results, personal models; removed on ``close``) and the
limits. Every method raises ``MouthSynthError`` with the CLI's one-line messages; the page shows
them (``user_message`` replaces temporary upload paths with the uploaded file's name)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mouthsynth.errors import ConfigError, InputError, MouthClosedError, MouthSynthError, NoFaceError

SHIPPED = "shipped"
ASTRONAUT = "astronaut (scikit-image)"
BLENDS = ("alpha", "poisson")
TRAIN_EXTRA_MISSING = (
    "Personalisation needs the training extra (PyTorch and ONNX), which is not installed here: "
    'pip install "mouthsynth[train]", then restart `mouthsynth app`.'
)


def training_available() -> bool:
    """Whether ``mouthsynth.training.personalize`` can run: torch and onnx are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "onnx"))


@dataclass
class ImageOutcome:
    image: np.ndarray  # RGB uint8
    mask: np.ndarray  # uint8 grey: 255 where the interior was painted
    message: str


@dataclass
class FileOutcome:
    path: Path
    message: str
    is_video: bool = True
    extra: list[Path] = field(default_factory=list)
    label: str | None = None  # a personal model's name in the model choice


class Workbench:
    """The app's state. ``model``: the generator the "shipped" choice means (default: the
    package's). ``samples``: images offered besides scikit-image's astronaut(). Results are kept
    ``keep_results_s`` seconds (long enough for the page to fetch them), then pruned."""

    def __init__(
        self,
        model: str | Path | None = None,
        samples: Iterable[str | Path] = (),
        max_video_seconds: float = 60.0,
        keep_results_s: float = 3600.0,
        root: str | Path | None = None,
    ):
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="mouthsynth-app-"))
        self.uploads = self.root / "uploads"
        self.results = self.root / "results"
        self.personal = self.root / "models"
        for folder in (self.uploads, self.results, self.personal):
            folder.mkdir(parents=True, exist_ok=True)
        self.max_video_seconds = float(max_video_seconds)
        self.keep_results_s = float(keep_results_s)
        self.models: dict[str, Path | None] = {SHIPPED: Path(model) if model is not None else None}
        self.samples: dict[str, Path | None] = {ASTRONAUT: None}
        for path in samples:
            self.samples.setdefault(Path(path).name, Path(path))
        self._synths: dict[str, object] = {}
        self._landmarks = None
        self.lock = threading.RLock()  # MediaPipe and the generators: one job at a time
        self.closed = False

    # --- housekeeping ----------------------------------------------------------------------
    def close(self) -> None:
        """Remove every temporary file of this app (uploads, results, personal models)."""
        self.closed = True
        shutil.rmtree(self.root, ignore_errors=True)

    def job_folder(self) -> Path:
        """A new folder for one request's outputs; results older than the keep time go."""
        now = time.time()
        for old in self.results.iterdir():
            try:
                if now - old.stat().st_mtime > self.keep_results_s:
                    shutil.rmtree(old, ignore_errors=True)
            except FileNotFoundError:
                pass
        folder = self.results / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        return folder

    def user_message(self, exc: BaseException) -> str:
        """The error on one line, with temporary upload paths shown as the uploaded file's name."""
        message = str(exc) if isinstance(exc, MouthSynthError) else f"unexpected error: {exc!r}"
        roots = {str(self.root), str(self.root.resolve()), str(Path(tempfile.gettempdir()) / "gradio")}
        for root in sorted(roots, key=len, reverse=True):
            # <root>/<any folders>/<name> -> <name>
            message = re.sub(re.escape(root) + r"/(?:[^/\s:]+/)*", "", message)
        return " ".join(message.split())

    # --- models ----------------------------------------------------------------------------
    def synth(self, model: str | None = None, blend: str = "alpha"):
        """The synthesiser for a model choice (one per model, sharing one landmark backend)."""
        from mouthsynth.config import load_config
        from mouthsynth.inference.synthesizer import MouthSynthesizer

        label = model or SHIPPED
        if label not in self.models:
            raise ConfigError(f"model {label!r}: not one of {', '.join(self.models)}")
        if blend not in BLENDS:
            raise ConfigError(f"blend {blend!r}: not one of {', '.join(BLENDS)}")
        synth = self._synths.get(label)
        if synth is None:
            synth = MouthSynthesizer(self.models[label], config=load_config(), landmarks=self._landmarks)
            self._landmarks = synth.landmarks
            self._synths[label] = synth
        synth.cfg.inference.blend = blend
        return synth

    # --- image -----------------------------------------------------------------------------
    def sample_image(self, label: str) -> np.ndarray:
        if label not in self.samples:
            raise ConfigError(f"sample {label!r}: not one of {', '.join(self.samples)}")
        path = self.samples[label]
        if path is None:
            from skimage import data

            return np.ascontiguousarray(data.astronaut())
        from mouthsynth.io.images import read_image

        return read_image(path)

    def inpaint(
        self,
        path: str | Path | None,
        sample: str | None = None,
        blend: str = "alpha",
        model: str | None = None,
    ) -> ImageOutcome:
        """Fill every open mouth of an uploaded image (or a sample), as `mouthsynth inpaint`."""
        from mouthsynth.io.images import read_image

        if path:
            name, image = Path(path).name, read_image(Path(path))
        elif sample:
            name, image = sample, self.sample_image(sample)
        else:
            raise MouthSynthError("no image: upload one or pick a sample")
        with self.lock:
            synth = self.synth(model, blend)
            result = synth(image)
        if not result.faces:
            raise NoFaceError(name)
        if not result.synthesised:
            widest = max(f.mouth_open for f in result.faces)
            raise MouthClosedError(name, widest, synth.cfg.geometry.min_open)
        lines = [f"{name}: {result.synthesised} of {len(result.faces)} face(s) filled ({blend} blend)"]
        for i, face in enumerate(result.faces):
            if not face.synthesised:
                lines.append(f"face {i}: {face.reason} (mouth_open {face.mouth_open:.3f}), left as is")
        mask = (np.clip(result.mask, 0, 1) * 255).round().astype(np.uint8)
        return ImageOutcome(result.image, mask, "; ".join(lines))

    # --- video -----------------------------------------------------------------------------
    def check_video_length(self, path: Path) -> None:
        from mouthsynth.io.video import VideoReader

        with VideoReader(path) as reader:
            seconds = reader.frame_count / max(float(reader.fps), 1e-6)
        if seconds > self.max_video_seconds + 0.5:
            raise InputError(
                path,
                f"{seconds:.0f} s long: this app takes videos up to {self.max_video_seconds:g} s "
                "(use `mouthsynth video` for longer ones)",
            )

    def video(self, path: str | Path | None, blend: str = "alpha", model: str | None = None) -> FileOutcome:
        """Fill every frame of an uploaded video, audio kept, as `mouthsynth video`."""
        if not path:
            raise MouthSynthError("no video: upload one")
        path = Path(path)
        self.check_video_length(path)
        out = self.job_folder() / f"{path.stem}_filled.mp4"
        with self.lock:
            synth = self.synth(model, blend)
            stats = synth.process_video(path, out, progress=True)
        message = (
            f"{path.name}: {stats['frames']} frames in {stats['seconds']:.1f} s; "
            f"{stats['synthesised']} synthesised, {stats['closed']} closed mouth, "
            f"{stats['no_face']} without a face"
        )
        return FileOutcome(out, message)

    # --- transfer --------------------------------------------------------------------------
    def transfer(
        self,
        driver: str | Path | None,
        target: str | Path | None,
        strength: float = 1.0,
        keep_audio: str = "driver",
        model: str | None = None,
    ) -> FileOutcome:
        """The driver's mouth motion on the target face, as `mouthsynth transfer`."""
        from mouthsynth.transfer.pipeline import is_video, transfer

        if not driver or not target:
            raise MouthSynthError("transfer needs a driver (video or image) and a target (image or video)")
        driver, target = Path(driver), Path(target)
        for path in (driver, target):
            if is_video(path):
                self.check_video_length(path)
        as_video = is_video(driver) or is_video(target)
        out = self.job_folder() / f"{target.stem}_driven{'.mp4' if as_video else '.png'}"
        with self.lock:
            synth = self.synth(model)
            stats = transfer(driver, target, out, synth, float(strength), keep_audio, progress=True)
        message = (
            f"{target.name} driven by {driver.name}: {stats.frames} frames in {stats.seconds:.1f} s, "
            f"{stats.synthesised} with a synthesised interior; driver face lost in {stats.driver_lost}, "
            f"target face lost in {stats.target_lost}"
        )
        return FileOutcome(out, message, is_video=as_video)

    # --- personalisation -------------------------------------------------------------------
    def personalize(
        self,
        paths: Sequence[str | Path] | None,
        minutes: float = 5.0,
        steps: int | None = None,
        note: Callable[[str], None] | None = None,
    ) -> FileOutcome:
        """Fine-tune the shipped generator on one person's footage (needs the training extra);
        the new model joins the model choices under a label of its own."""
        if not training_available():
            raise MouthSynthError(TRAIN_EXTRA_MISSING)
        if not paths:
            raise MouthSynthError("no footage: upload videos or photos of one person")
        from mouthsynth.training.personalize import personalize

        inputs = [Path(p) for p in paths]
        n = sum(1 for label in self.models if label != SHIPPED) + 1
        label = f"personal {n}: {inputs[0].stem}"
        out = self.personal / f"personal_{n}_{_safe(inputs[0].stem)}.onnx"
        notes: list[str] = []

        def collect(line: str) -> None:
            notes.append(line)
            if note is not None:
                note(line)

        with self.lock:
            result = personalize(
                inputs,
                out,
                minutes=float(minutes) if minutes else None,
                steps=int(steps) if steps else None,
                progress=True,
                note=collect,
            )
        self.models[label] = result.model
        message = (
            f"{label}: {result.steps} steps on {result.frames} open-mouth frames in {result.seconds:.0f} s "
            f"(fit {result.fit_seconds:.0f} s); pick it as the model to use it"
        )
        if notes:
            message += " (" + "; ".join(self.user_message(MouthSynthError(n)) for n in notes) + ")"
        return FileOutcome(result.model, message, is_video=False, extra=[result.card_path], label=label)


def _safe(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:40] or "footage"
