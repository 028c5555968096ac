"""VGG backbones load torchvision-layout weights, check every shape, and never fall back silently."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from mouthsynth.errors import ModelError
from mouthsynth.nets.vgg import LAYOUTS, VGGFeatures, load_vgg, resolve_perceptual_net, tap_indices


def _torchvision_vgg19_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A full VGG19 state dict in torchvision's layout (features + classifier), as vgg19-dcbb9e9d.pth."""
    torch.manual_seed(seed)
    state, index, in_ch = {}, 0, 3
    for item in LAYOUTS["vgg19"]:
        if item == "M":
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(item, in_ch, 3, 3)
        state[f"features.{index}.bias"] = torch.randn(item)
        in_ch, index = item, index + 2
    state["classifier.0.weight"] = torch.randn(8, 8)
    return state


def test_taps_are_relu_x_1():
    assert tap_indices(LAYOUTS["vgg16"]) == [1, 6, 11, 18, 25]
    assert tap_indices(LAYOUTS["vgg19"]) == [1, 6, 11, 20, 29]


def test_vgg19_loads_a_torchvision_state_dict_from_every_place(tmp_path, monkeypatch):
    state = _torchvision_vgg19_state()
    pth = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(state, pth)
    # 1. an explicitly configured file
    backbone = load_vgg("vgg19", pth)
    assert backbone.path == pth and len(backbone.sha256) == 64
    assert torch.equal(backbone.net.features[28].weight, state["features.28.weight"])  # conv5_1
    assert len(backbone.net.features) == 30  # built up to relu5_1 only
    # 2. the weights folder of MOUTHSYNTH_WEIGHTS_DIR
    monkeypatch.setenv("MOUTHSYNTH_WEIGHTS_DIR", str(tmp_path))
    assert load_vgg("vgg19").path == pth
    # 3. torch's hub cache
    monkeypatch.delenv("MOUTHSYNTH_WEIGHTS_DIR")
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    save_file(
        {k: v for k, v in state.items() if k.startswith("features")},
        str(hub / "checkpoints" / "vgg19_features_imagenet.safetensors"),
    )
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    assert load_vgg("vgg19").path.parent == hub / "checkpoints"
    # 'auto' prefers VGG19 where it exists.
    assert load_vgg("auto").net.name == "vgg19"


def test_vgg19_rejects_a_wrong_shape(tmp_path):
    state = _torchvision_vgg19_state()
    state["features.10.weight"] = torch.randn(128, 128, 3, 3)  # should be 256 x 128
    pth = tmp_path / "bad.pth"
    torch.save(state, pth)
    with pytest.raises(ModelError, match="features.10.weight"):
        load_vgg("vgg19", pth)


def test_missing_vgg19_is_a_clear_error_naming_the_places(tmp_path, monkeypatch):
    monkeypatch.setenv("MOUTHSYNTH_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "nohub"))
    with pytest.raises(ModelError) as info:
        load_vgg("vgg19")
    message = str(info.value)
    assert str(tmp_path) in message and "nohub" in message
    assert "losses.perceptual_net=vgg16" in message
    # Random weights only when a unit test asks for them.
    assert load_vgg("vgg19", allow_random=True).path is None


def test_vgg16_loads_the_shared_imagenet_weights(weights_dir):
    backbone = load_vgg("vgg16")
    sums = (weights_dir.parent / "SHA256SUMS").read_text()
    assert f"{backbone.sha256}  weights/vgg16_features_imagenet.safetensors" in sums
    # Pretrained filters respond to structure: an edge excites relu1_1 more than a flat image.
    flat = torch.zeros(1, 3, 32, 32)
    edge = flat.clone()
    edge[..., 16:] = 1
    assert backbone.net(edge)[0].abs().mean() > backbone.net(flat)[0].abs().mean()


def test_features_are_frozen_and_stay_in_eval_mode():
    net = VGGFeatures("vgg16")
    net.train()
    assert not net.training and not any(p.requires_grad for p in net.parameters())


def test_auto_picks_vgg16_with_a_warning_where_no_vgg19_exists(weights_dir, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MOUTHSYNTH_WEIGHTS_DIR", str(weights_dir))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "nohub"))
    with caplog.at_level("INFO", logger="mouthsynth.nets.vgg"):
        assert resolve_perceptual_net("auto") == "vgg16"
    assert "VGG16" in caplog.text
    assert resolve_perceptual_net("vgg19") == "vgg19"  # a named network is never swapped
    # A configured file decides by its own layout.
    pth = tmp_path / "my_vgg.pth"
    torch.save(_torchvision_vgg19_state(), pth)
    assert resolve_perceptual_net("auto", pth) == "vgg19"
