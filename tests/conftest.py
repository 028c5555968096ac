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
