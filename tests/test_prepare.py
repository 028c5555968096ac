"""`mouthsynth prepare` on real videos and photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from mouthsynth.config import load_config
from mouthsynth.data.identities import IdentityRules
from mouthsynth.data.prepare import prepare
from mouthsynth.geometry import mouth_open

REPO = Path(__file__).resolve().parents[1]


def _manifest(root):
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


def test_prepared_crops_show_open_mouths(tiny_dataset):
    records = _manifest(tiny_dataset)
    assert len(records) > 20
    info = json.loads((tiny_dataset / "dataset.json").read_text())
    assert info["crop_size"] == 2 * info["size"] == 128
    for rec in records[:: max(1, len(records) // 10)]:
        folder = tiny_dataset / "crops" / rec["group"]
        image = np.load(folder / "images.npy", mmap_mode="r")[rec["index"]]
        mask = np.load(folder / "masks.npy", mmap_mode="r")[rec["index"]]
        inner = np.load(folder / "inner_lip.npy")[rec["index"]]
        assert image.shape == (128, 128, 3) and mask.shape == (128, 128)
        if not rec["closed"]:
            assert rec["mouth_open"] >= 0.12
            # Lips stored in crop pixels measure the same openness as in the frame.
            assert abs(mouth_open(inner) - rec["mouth_open"]) < 1e-3
            assert (mask > 127).sum() > 50  # a real interior
            # The mask sits at the centre of the crop, around the lips.
            ys, xs = np.nonzero(mask > 127)
            assert abs(xs.mean() - 64) < 12 and abs(ys.mean() - 64) < 16


def test_split_is_by_identity(tiny_dataset):
    records = _manifest(tiny_dataset)
    train = {r["identity"] for r in records if r["split"] == "train"}
    val = {r["identity"] for r in records if r["split"] == "val"}
    assert train and val and not train & val
    assert "mead_W011" in val and "mead_M030" in train


def test_rerun_skips_finished_sources_and_recovers_from_a_crash(tiny_dataset, tmp_path, shared_dir):
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    before = _manifest(root)
    cfg = load_config(REPO / "configs" / "tiny.yaml", ["data.every=3"])
    sources = [shared_dir / "data" / "videos" / "dreamtalk_M030_front_surprised_level3_001.mp4"]
    summary = prepare(sources, root, cfg, progress=False)
    assert summary.sources_done == 0 and summary.sources_skipped_done == 1
    assert _manifest(root) == before
    # Simulate a crash after manifest lines were written but before the source was marked done.
    lines = (root / "sources.jsonl").read_text().splitlines()
    (root / "sources.jsonl").write_text("\n".join(lines[1:]) + "\n")
    summary = prepare(sources, root, cfg, progress=False)
    assert summary.sources_done == 1
    after = _manifest(root)
    assert len(after) == len(before)  # redone, not duplicated
    assert len({r["id"] for r in after}) == len(after)


def test_a_corrupt_source_is_reported_and_the_rest_kept(tmp_path, shared_dir):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    good = shared_dir / "data" / "photos" / "stargan-v2_012712.jpg"
    errors = []
    cfg = load_config(REPO / "configs" / "tiny.yaml")
    summary = prepare(
        [bad, good], tmp_path / "ds", cfg, IdentityRules(), progress=False, on_error=errors.append
    )
    assert summary.sources_done == 1 and len(summary.errors) == 1
    assert "broken.mp4" in errors[0]
    assert len(_manifest(tmp_path / "ds")) == 1
