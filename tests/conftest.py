"""Shared fixtures: the real face data in ../shared/ (read-only) and CPU-friendly torch settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOUTHSYNTH_SHARED", REPO.parent / "shared"))
PHOTOS = SHARED / "data" / "photos"
VIDEOS = SHARED / "data" / "videos"
WEIGHTS = SHARED / "weights"

# The package knows nothing of ../shared: tests point it at the pretrained weights explicitly.
os.environ.setdefault("MOUTHSYNTH_WEIGHTS_DIR", str(WEIGHTS))


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(min(2, os.cpu_count() or 1))
    except ImportError:
        pass


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the tests need ../shared/ beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def photos_dir(shared_dir) -> Path:
    return PHOTOS


@pytest.fixture(scope="session")
def videos_dir(shared_dir) -> Path:
    return VIDEOS


@pytest.fixture(scope="session")
def weights_dir(shared_dir) -> Path:
    return WEIGHTS


TINY_SOURCES = [
    "videos/dreamtalk_M030_front_surprised_level3_001.mp4",  # identity mead_M030: train
    "videos/dreamtalk_W011_front_happy_level3_001.mp4",  # identity mead_W011: val
    "photos/stargan-v2_006930.jpg",  # val
    "photos/stargan-v2_012712.jpg",  # train
]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, shared_dir):
    """A real prepared dataset, small: two talking clips of two people and two photos, at 64 px."""
    from mouthsynth.config import load_config
    from mouthsynth.data.identities import IdentityRules
    from mouthsynth.data.prepare import prepare

    root = tmp_path_factory.mktemp("tiny_dataset")
    rules_file = root.parent / "identities.yaml"
    rules_file.write_text(
        "identities:\n  'dreamtalk_M030_*': mead_M030\n  'dreamtalk_W011_*': mead_W011\n"
        "val: [mead_W011, stargan-v2_006930]\n"
    )
    cfg = load_config(REPO / "configs" / "tiny.yaml", ["data.every=3"])
    summary = prepare(
        [shared_dir / "data" / s for s in TINY_SOURCES],
        root,
        cfg,
        IdentityRules.load(rules_file),
        progress=False,
    )
    assert not summary.errors, summary.errors
    return root
