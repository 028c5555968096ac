"""The training dataset: prepared crops -> batch-dict items for the generator and both
discriminators."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from mouthsynth.config import DataConfig, GeometryConfig
from mouthsynth.data.augment import augment, augment_pair, downscale, video_like
from mouthsynth.errors import InputError
from mouthsynth.geometry.crops import REFERENCE_SIZE, local_box
from mouthsynth.geometry.mouth import binarize, boundary_band
from mouthsynth.io.images import is_video


def read_manifest(root: Path) -> list[dict]:
    path = Path(root) / "manifest.jsonl"
    if not path.is_file():
        raise InputError(root, "not a prepared dataset (no manifest.jsonl; run `mouthsynth prepare`)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class MouthDataset(Dataset):
    """Items: ``image`` (3,S,S in [-1,1]), ``mask`` (1,S,S {0,1}), ``boundary`` (1,S,S),
    ``input`` (4,S,S: white-filled image + mask), ``local_box`` (4 int64), ``index``, ``id`` (str).
    With ``pairs`` (training only) also the next frame's view of the same mouth: ``image2``,
    ``mask2``, ``input2`` and ``theta`` (2x3, samples view 2 on view 1's pixels).

    Augmentation (``train=True``) draws from a generator seeded by (seed, epoch, index): the
    same item is the same whatever the worker or the order, so runs are reproducible and
    resumable."""

    def __init__(
        self,
        root: str | Path,
        split: str | None = "train",
        size: int = 128,
        data_cfg: DataConfig | None = None,
        geometry: GeometryConfig | None = None,
        train: bool = True,
        seed: int = 0,
        include_closed: bool = True,
        pairs: bool = False,
    ):
        self.root = Path(root)
        self.size = size
        self.cfg = data_cfg or DataConfig()
        self.geometry = geometry or GeometryConfig()
        self.train = train
        self.pairs = pairs and train
        self.seed = seed
        self.epoch = 0
        records = read_manifest(self.root)
        self.records = [
            r
            for r in records
            if (split is None or r["split"] == split) and (include_closed or not r.get("closed"))
        ]
        self._arrays: dict[str, dict[str, np.ndarray]] = {}
        with_next = self.pairs and self.cfg.pair_next_frame > 0
        self._next = _next_frames(self.records, self.cfg.pair_next_gap) if with_next else {}

    def _video_like_coin(self, index: int) -> bool:
        """Whether this draw of a photo is made video-like (``data.photo_video_like``); its own
        stream, so the other draws stay those of a run without it."""
        share = self.cfg.photo_video_like
        if share <= 0 or is_video(self.records[index]["source"]):
            return False
        return bool(np.random.default_rng([self.seed, self.epoch, index, 2]).random() < share)

    def _next_coin(self, index: int) -> float:
        return float(np.random.default_rng([self.seed, self.epoch, index, 1]).random())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def _group(self, name: str) -> dict[str, np.ndarray]:
        # Opened lazily in each worker process; mmap shares the pages between workers.
        if name not in self._arrays:
            folder = self.root / "crops" / name
            self._arrays[name] = {
                key: np.load(folder / f"{key}.npy", mmap_mode="r") for key in ("images", "masks", "outer_lip")
            }
        return self._arrays[name]

    def raw(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rec = self.records[index]
        arrays = self._group(rec["group"])
        i = rec["index"]
        return (
            np.asarray(arrays["images"][i]),
            np.asarray(arrays["masks"][i]).astype(np.float32) / 255.0,
            np.asarray(arrays["outer_lip"][i]).astype(np.float32),
        )

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """``key``: an index, or ``(index, size)`` for a crop side other than ``self.size``
        (multi-size training: the generator is fully convolutional)."""
        index, size = key if isinstance(key, tuple) else (key, self.size)
        image, mask, outer = self.raw(index)
        if self.train and self._video_like_coin(index):
            image = video_like(image, np.random.default_rng([self.seed, self.epoch, index, 3]))
        extra: dict[str, torch.Tensor] = {}
        if self.pairs:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            next_frame = None
            # Drawn from its own stream: the jitter draws stay those of a run without next frames.
            if index in self._next and self._next_coin(index) < self.cfg.pair_next_frame:
                next_frame = self.raw(self._next[index])[:2]
            image, hard, outer, image2, hard2, theta = augment_pair(
                image, mask, outer, size, rng, self.cfg, next_frame
            )
            rgb2, m2 = _tensors(image2, hard2)
            extra = {
                "image2": rgb2,
                "mask2": m2,
                "input2": _white_filled(rgb2, m2),
                "theta": torch.from_numpy(theta),
            }
        elif self.train:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image, hard, outer = augment(image, mask, outer, size, rng, self.cfg)
        else:
            big = image.shape[0]
            image = downscale(image, size)
            hard = binarize(downscale(mask, size))
            outer = (outer + 0.5) * (size / big) - 0.5
        band = boundary_band(hard, self.geometry.boundary_band * size / REFERENCE_SIZE)
        rgb, m = _tensors(image, hard)
        return {
            "image": rgb,
            "mask": m,
            "boundary": torch.from_numpy(band)[None],
            "input": _white_filled(rgb, m),
            "local_box": torch.tensor(local_box(outer, size, self.geometry.local_margin), dtype=torch.int64),
            "index": torch.tensor(index),
            "id": self.records[index]["id"],
            **extra,
        }


def _next_frames(records: list[dict], max_gap: int) -> dict[int, int]:
    """Index -> index of the same face's next prepared frame in the same clip, at most
    ``max_gap`` frames later (photos and a clip's last frame have none)."""
    by_face: dict[tuple, list[tuple[int, int]]] = {}
    for i, rec in enumerate(records):
        if rec.get("frame") is not None and is_video(rec["source"]):
            by_face.setdefault((rec["group"], rec.get("face", 0)), []).append((rec["frame"], i))
    following = {}
    for frames in by_face.values():
        frames.sort()
        for (f0, i0), (f1, i1) in zip(frames, frames[1:], strict=False):
            if 0 < f1 - f0 <= max_gap:
                following[i0] = i1
    return following


def _tensors(image: np.ndarray, hard: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 H x W x 3 and a {0,1} H x W mask -> (3,H,W) in [-1, 1] and (1,H,W)."""
    rgb = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 127.5 - 1.0
    return rgb, torch.from_numpy(np.ascontiguousarray(hard, dtype=np.float32))[None]


def _white_filled(rgb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The generator's input: the interior white, and the mask as a fourth channel."""
    return torch.cat([torch.where(mask > 0, torch.ones_like(rgb), rgb), mask], 0)
