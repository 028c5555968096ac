"""LPIPS (AlexNet + v0.1 linear heads) on constructed cases, with the real weights."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import torch

from mouthsynth.errors import ModelError
from mouthsynth.evaluation.lpips import LPIPS
from mouthsynth.io.images import read_image

# Real mouth-region crops: the metric is meant for photos, not noise.
PHOTOS = ["stargan-v2_006930.jpg", "stargan-v2_012712.jpg"]


@pytest.fixture(scope="module")
def lpips(weights_dir) -> LPIPS:
    return LPIPS.load(weights_dir)


@pytest.fixture(scope="module")
def faces(photos_dir) -> torch.Tensor:
    crops = []
    for name in PHOTOS:
        image = read_image(photos_dir / name)
        h, w = image.shape[:2]
        lower = image[h // 2 : h // 2 + h // 3, w // 3 : 2 * w // 3]  # mouth and chin
        crops.append(cv2.resize(lower, (64, 64), interpolation=cv2.INTER_AREA))
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 127.5 - 1


def test_loaded_weights_are_the_real_ones(lpips, weights_dir):
    sums = (weights_dir.parent / "SHA256SUMS").read_text().splitlines()
    assert f"{lpips.sha256['alexnet']}  weights/alexnet_features_imagenet.safetensors" in sums
    assert f"{lpips.sha256['linear']}  weights/lpips_v0.1_alex_linear.safetensors" in sums
    # The v0.1 heads are non-negative weights learned on human judgements, not an initialisation.
    heads = [h.model[1].weight for h in lpips.heads]
    assert all(w.min() >= 0 and w.abs().sum() > 0 for w in heads)


def test_identical_images_score_zero(lpips, faces):
    with torch.no_grad():
        d = lpips(faces, faces.clone())
    assert d.shape == (2,)
    assert torch.equal(d, torch.zeros(2))


def test_stronger_distortion_scores_higher(lpips, faces):
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(faces.shape, generator=g)
    with torch.no_grad():
        slight = lpips(faces, (faces + 0.03 * noise).clamp(-1, 1))
        strong = lpips(faces, (faces + 0.3 * noise).clamp(-1, 1))
        blurred = lpips(faces, _blur(faces, 3.0))
        other_face = lpips(faces, faces.flip(0))
    assert (slight > 0).all() and (slight < strong).all()
    assert (slight < blurred).all() and (slight < other_face).all()
    # A distance: symmetric.
    with torch.no_grad():
        assert torch.allclose(lpips(faces.flip(0), faces), other_face, atol=1e-6)


def test_channel_normalisation_makes_layer_scale_irrelevant(lpips, faces):
    """Scaling conv k by c (its bias by c**k) scales every tapped activation by a positive factor;
    the per-layer unit normalisation must cancel it, so the distance is unchanged."""
    scaled = copy.deepcopy(lpips)
    convs = [m for m in scaled.net.features if isinstance(m, torch.nn.Conv2d)]
    for k, conv in enumerate(convs, start=1):
        conv.weight.mul_(3.0)
        conv.bias.mul_(3.0**k)
    noisy = (faces + 0.2 * torch.randn(faces.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    with torch.no_grad():
        assert torch.allclose(scaled(faces, noisy), lpips(faces, noisy), rtol=1e-4)
        assert not torch.allclose(scaled.net(faces)[2], lpips.net(faces)[2])  # the features did change


def test_missing_weights_are_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MOUTHSYNTH_WEIGHTS_DIR", str(tmp_path / "env"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(ModelError) as info:
        LPIPS.load(tmp_path / "given")
    message = str(info.value)
    assert "AlexNet" in message and "given" in message and "env" in message and "hub" in message


def test_missing_linear_heads_name_the_places(tmp_path, monkeypatch, weights_dir):
    (tmp_path / "alexnet_features_imagenet.safetensors").symlink_to(
        weights_dir / "alexnet_features_imagenet.safetensors"
    )
    monkeypatch.setenv("MOUTHSYNTH_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(ModelError, match="linear heads.*lpips_v0.1_alex_linear"):
        LPIPS.load()


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    images = ((x.permute(0, 2, 3, 1).numpy() + 1) * 127.5).astype(np.float32)
    blurred = np.stack([cv2.GaussianBlur(im, (0, 0), sigma) for im in images])
    return torch.from_numpy(blurred).permute(0, 3, 1, 2) / 127.5 - 1
