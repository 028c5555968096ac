"""`mouthsynth prepare`: real face videos and photos -> a training dataset of mouth crops.

Every kept face gives the aligned global crop at 2x the training size (training jitters scale
and downsamples), its anti-aliased interior mask and its lip landmarks in crop pixels. Each
source becomes one group folder of ``.npy`` arrays (read with mmap, one open per source), and
one line per sample in ``manifest.jsonl``.

Resumable and crash-safe: a group is written into a temporary folder and renamed when complete;
a source counts as done only once its manifest lines and its entry in ``sources.jsonl`` are on
disk; a rerun drops manifest lines of unfinished sources and skips the finished ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mouthsynth.config import Config
from mouthsynth.data.identities import IdentityRules
from mouthsynth.errors import ConfigError, InputError, MouthSynthError
from mouthsynth.io.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_video

# Re-run the face detector this often in videos even while tracking: catches new faces and cuts.
REDETECT_EVERY = 30
# Mouths narrower than this in the source image would be blown up into blurry crops.
MIN_MOUTH_WIDTH_PX = 24.0


@dataclass
class SourceResult:
    source: str
    group: str
    records: list[dict] = field(default_factory=list)
    frames: int = 0
    faces: int = 0
    skipped_closed: int = 0
    skipped_small: int = 0
    error: str | None = None
    seconds: float = 0.0


def collect_sources(paths: list[Path]) -> list[Path]:
    """Video and image files under ``paths`` (folders recursively), sorted; a missing path is an
    error naming it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
            )
        elif path.exists():
            found.append(path)
        else:
            raise InputError(path, "file not found")
    return found


def group_name(source: Path) -> str:
    """A stable folder name per source: readable stem plus a hash of the full path."""
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in source.stem)[:60]
    return f"{stem}-{digest}"


def _frames(source: Path, every: int) -> Iterator[tuple[int, np.ndarray]]:
    if is_video(source):
        from mouthsynth.io.video import VideoReader

        with VideoReader(source) as reader:
            for index, frame in enumerate(reader):
                if index % every == 0:
                    yield index, frame
    else:
        from mouthsynth.io.images import read_image

        yield 0, read_image(source)


class _Worker:
    """Landmarks + geometry for one source at a time; one landmark backend per process."""

    def __init__(self, cfg: Config):
        from mouthsynth.landmarks import create_backend

        self.cfg = cfg
        self.backend = create_backend(cfg.landmarks)

    def run(
        self, source: Path, out_root: Path, every: int, min_open: float, keep_closed: float
    ) -> SourceResult:
        from mouthsynth.geometry import cut_mouth

        group = group_name(source)
        result = SourceResult(str(source), group)
        start = time.perf_counter()
        crop_size = 2 * self.cfg.data.size
        rng = np.random.default_rng(
            int(hashlib.sha1(group.encode()).hexdigest()[:8], 16) ^ self.cfg.data.seed
        )
        images, masks, inner, outer = [], [], [], []
        boxes: list | None = None
        try:
            for index, frame in _frames(source, every):
                result.frames += 1
                use_boxes = boxes if boxes and result.frames % REDETECT_EVERY else None
                faces = self.backend.detect(frame, use_boxes)
                if use_boxes is not None and len(faces) < len(use_boxes):
                    faces = self.backend.detect(frame)  # lost a face: look again
                boxes = [f.face_box for f in faces] or None
                for face_index, face in enumerate(faces):
                    result.faces += 1
                    width = float(np.ptp(face.outer_lip[:, 0]))
                    if width < MIN_MOUTH_WIDTH_PX:
                        result.skipped_small += 1
                        continue
                    crop = cut_mouth(frame, face, crop_size, self.cfg.geometry)
                    closed = crop.mouth_open < min_open
                    if closed and rng.random() >= keep_closed:
                        result.skipped_closed += 1
                        continue
                    result.records.append(
                        {
                            "id": f"{group}/{index:06d}/{face_index}",
                            "source": str(source),
                            "frame": index,
                            "face": face_index,
                            "mouth_open": round(float(crop.mouth_open), 5),
                            "closed": bool(closed),
                            "group": group,
                            "index": len(images),
                        }
                    )
                    images.append(crop.image)
                    masks.append(np.round(crop.mask * 255).astype(np.uint8))
                    inner.append(crop.inner_lip)
                    outer.append(crop.outer_lip)
        except MouthSynthError as exc:
            result.error = str(exc)
        except Exception as exc:  # a broken file must not stop the batch
            result.error = f"{source}: unreadable ({type(exc).__name__}: {exc})"
        if result.error is None:
            _write_group(out_root / "crops", group, images, masks, inner, outer, crop_size)
        result.seconds = time.perf_counter() - start
        return result


def _write_group(root: Path, group: str, images, masks, inner, outer, crop_size: int) -> None:
    """All arrays of one source into ``root/group``, atomically (temporary folder + rename)."""
    final = root / group
    tmp = root / f".{group}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n = len(images)
    np.save(tmp / "images.npy", np.stack(images) if n else np.zeros((0, crop_size, crop_size, 3), np.uint8))
    np.save(tmp / "masks.npy", np.stack(masks) if n else np.zeros((0, crop_size, crop_size), np.uint8))
    np.save(tmp / "inner_lip.npy", np.stack(inner) if n else np.zeros((0, 0, 2), np.float32))
    np.save(tmp / "outer_lip.npy", np.stack(outer) if n else np.zeros((0, 0, 2), np.float32))
    meta = {
        "size": crop_size,
        "count": n,
        "inner_n": int(inner[0].shape[0]) if n else 0,
        "outer_n": int(outer[0].shape[0]) if n else 0,
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


# --- worker-process plumbing: one backend per process ---------------------------------------
_WORKER: _Worker | None = None


def _init_worker(cfg_dict: dict) -> None:
    global _WORKER
    from mouthsynth.config import config_from_dict

    os.environ.setdefault("GLOG_minloglevel", "2")
    _WORKER = _Worker(config_from_dict(cfg_dict))


def _run_in_worker(args: tuple) -> SourceResult:
    assert _WORKER is not None
    return _WORKER.run(*args)


@dataclass
class PrepareSummary:
    sources_done: int = 0
    sources_skipped_done: int = 0
    errors: list[str] = field(default_factory=list)
    frames: int = 0
    samples: int = 0
    samples_closed: int = 0
    skipped_closed: int = 0
    skipped_small: int = 0
    per_split: dict[str, int] = field(default_factory=dict)
    identities: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0


def _load_done(out: Path) -> tuple[set[str], list[dict]]:
    """Finished sources, and the manifest cleaned of lines from unfinished ones."""
    done: set[str] = set()
    sources_file = out / "sources.jsonl"
    if sources_file.exists():
        for line in sources_file.read_text().splitlines():
            if line.strip():
                done.add(json.loads(line)["group"])
    records: list[dict] = []
    manifest = out / "manifest.jsonl"
    if manifest.exists():
        for line in manifest.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                if rec["group"] in done:
                    records.append(rec)
    return done, records


def _append_lines(path: Path, rows: list[dict]) -> None:
    with open(path, "a") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def prepare(
    sources: list[Path],
    out: Path,
    cfg: Config,
    identities: IdentityRules | None = None,
    workers: int = 1,
    progress: bool = True,
    on_error=None,
) -> PrepareSummary:
    """Prepare ``sources`` into ``out``. ``on_error(message)`` is told about each bad source."""
    from tqdm import tqdm

    identities = identities or IdentityRules()
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    info_path = out / "dataset.json"
    info = {
        "size": cfg.data.size,
        "crop_size": 2 * cfg.data.size,
        "every": cfg.data.every,
        "min_open": cfg.data.min_open,
        "closed_share": cfg.data.closed_share,
        "val_fraction": cfg.data.val_fraction,
        "seed": cfg.data.seed,
        "geometry": asdict(cfg.geometry),
        "landmarks": cfg.landmarks.backend,
    }
    if info_path.exists():
        previous = json.loads(info_path.read_text())
        for key in ("size", "geometry", "landmarks"):
            if previous.get(key) != info[key]:
                raise ConfigError(
                    f"{out}: prepared with a different {key} ({previous.get(key)!r}); use a new folder"
                )
    info_path.write_text(json.dumps(info, indent=2))

    files = collect_sources(sources)
    done, kept = _load_done(out)
    # Rewrite the manifest without lines of sources that did not finish last time.
    manifest = out / "manifest.jsonl"
    tmp_manifest = out / ".manifest.jsonl.tmp"
    tmp_manifest.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(tmp_manifest, manifest)

    summary = PrepareSummary()
    todo = []
    for source in files:
        if group_name(source) in done:
            summary.sources_skipped_done += 1
        else:
            todo.append(source)
    args = [(s, out, cfg.data.every, cfg.data.min_open, cfg.data.closed_share) for s in todo]

    def results() -> Iterator[SourceResult]:
        if workers <= 1 or len(todo) <= 1:
            worker = _Worker(cfg)
            for a in args:
                yield worker.run(*a)
        else:
            import multiprocessing as mp

            # spawn: MediaPipe's graph threads do not survive fork.
            ctx = mp.get_context("spawn")
            with ctx.Pool(workers, initializer=_init_worker, initargs=(cfg.to_dict(),)) as pool:
                yield from pool.imap_unordered(_run_in_worker, args)

    bar = tqdm(total=len(todo), unit="src", disable=not progress, dynamic_ncols=True)
    for result in results():
        bar.update(1)
        summary.frames += result.frames
        summary.skipped_closed += result.skipped_closed
        summary.skipped_small += result.skipped_small
        if result.error:
            summary.errors.append(result.error)
            if on_error:
                on_error(result.error)
            continue
        source = Path(result.source)
        identity = identities.identity(source)
        split = identities.split(source, identity, cfg.data.val_fraction, cfg.data.seed)
        for rec in result.records:
            rec["identity"] = identity
            rec["split"] = split
        _append_lines(manifest, result.records)
        _append_lines(
            out / "sources.jsonl",
            [
                {
                    "group": result.group,
                    "source": result.source,
                    "identity": identity,
                    "split": split,
                    "frames": result.frames,
                    "samples": len(result.records),
                }
            ],
        )
        summary.sources_done += 1
        elapsed = time.perf_counter() - started
        bar.set_postfix(
            frames=summary.frames,
            fps=f"{summary.frames / max(elapsed, 1e-6):.1f}",
            kept=summary.samples + len(result.records),
            skipped=summary.skipped_closed,
        )
        summary.samples += len(result.records)
    bar.close()

    # Totals over the whole dataset, finished earlier runs included.
    _, records = _load_done(out)
    summary.samples = len(records)
    summary.samples_closed = sum(r["closed"] for r in records)
    for rec in records:
        summary.per_split[rec["split"]] = summary.per_split.get(rec["split"], 0) + 1
        ids = summary.identities.setdefault(rec["split"], [])
        if rec["identity"] not in ids:
            ids.append(rec["identity"])
    splits = {name: set(ids) for name, ids in summary.identities.items()}
    leaked = {i for a in splits for b in splits if a < b for i in splits[a] & splits[b]}
    if leaked:  # cannot happen by construction; guard the one property validation rests on
        raise ConfigError(f"identities in more than one split: {sorted(leaked)}")
    summary.seconds = time.perf_counter() - started
    return summary
