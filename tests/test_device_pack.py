"""The pack that carries a prepared dataset to a GPU machine (scripts/device_pack.py) unpacks to
a dataset the trainer reads: every sample, masks and lip contours exact, images close."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mouthsynth.data.dataset import MouthDataset

REPO = Path(__file__).resolve().parents[1]


def _arrays(root, record):
    folder = root / "crops" / record["group"]
    return {
        key: np.load(folder / f"{key}.npy", mmap_mode="r")[record["index"]]
        for key in ("images", "masks", "outer_lip", "inner_lip")
    }


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_pack_then_unpack_gives_back_every_sample(tiny_dataset, tmp_path, fmt):
    script = REPO / "scripts" / "device_pack.py"
    pack, out = tmp_path / "pack", tmp_path / "unpacked"
    run = [sys.executable, str(script)]
    subprocess.run(
        [*run, "pack", str(tiny_dataset), str(pack), "--per-person", "0", "--format", fmt], check=True
    )
    subprocess.run([*run, "unpack", str(pack), str(out)], check=True)

    def records(root):
        return {
            r["id"]: r
            for r in map(json.loads, (root / "manifest.jsonl").read_text().splitlines())
            if r["split"] in ("train", "val")
        }

    source, unpacked = records(tiny_dataset), records(out)
    train = [i for i, r in source.items() if r["split"] == "train"]
    assert set(train) <= set(unpacked)  # --per-person 0: every training sample travels
    for sample_id, rec in unpacked.items():
        a, b = _arrays(tiny_dataset, source[sample_id]), _arrays(out, rec)
        assert np.array_equal(a["masks"], b["masks"]) and np.array_equal(a["inner_lip"], b["inner_lip"])
        assert np.array_equal(a["outer_lip"], b["outer_lip"])
        error = np.mean((a["images"].astype(float) - b["images"].astype(float)) ** 2)
        assert 10 * np.log10(255**2 / max(error, 1e-9)) > 32, sample_id
    # The trainer's dataset reads the unpacked layout.
    assert len(MouthDataset(out, "train", 64)) == len(MouthDataset(tiny_dataset, "train", 64))
