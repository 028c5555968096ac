"""ONNX export round trip, metadata, and the torch-free ONNX Runtime generator."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from mouthsynth.errors import ModelError, OutputExistsError
from mouthsynth.export.onnx_export import export_onnx
from mouthsynth.inference.onnx_generator import OnnxGenerator
from mouthsynth.nets.generator import MobileNetUNet


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = MobileNetUNet(width=0.25)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("onnx") / "g.onnx"
    info = export_onnx(
        net, path, 64, {"mouthsynth.crop_size": "64", "mouthsynth.card": json.dumps({"steps": 3})}
    )
    return net.eval(), path, info


def test_export_round_trip_matches_pytorch(exported):
    net, path, info = exported
    assert info["max_abs_diff"] <= 1e-3
    x = np.random.default_rng(1).uniform(-1, 1, (5, 4, 64, 64)).astype(np.float32)  # batch 5: dynamic
    x[:, 3] = (x[:, 3] > 0.3).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = OnnxGenerator(path)(x)
    assert got.shape == (5, 3, 64, 64)
    assert np.abs(got - expected).max() <= 1e-3


def test_export_stores_metadata_and_opset(exported):
    _, path, _ = exported
    model = onnx.load(str(path))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["mouthsynth.crop_size"] == "64"
    gen = OnnxGenerator(path)
    assert gen.crop_size == 64 and gen.card == {"steps": 3}


def test_export_does_not_overwrite(exported):
    net, path, _ = exported
    with pytest.raises(OutputExistsError):
        export_onnx(net, path, 64)


def test_bad_model_files_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        OnnxGenerator(tmp_path / "missing.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        OnnxGenerator(corrupt)
    # A valid ONNX model with the wrong interface.
    wrong = tmp_path / "wrong.onnx"
    torch.onnx.export(
        torch.nn.Conv2d(3, 3, 1), (torch.zeros(1, 3, 8, 8),), str(wrong), input_names=["input"], dynamo=False
    )
    with pytest.raises(ModelError, match="N x 4 x S x S"):
        OnnxGenerator(wrong)
    # The right input but an output under another name.
    renamed = tmp_path / "renamed.onnx"
    torch.onnx.export(
        torch.nn.Conv2d(4, 3, 1),
        (torch.zeros(1, 4, 8, 8),),
        str(renamed),
        input_names=["input"],
        output_names=["rgb"],
        dynamo=False,
    )
    with pytest.raises(ModelError, match="output 'output'"):
        OnnxGenerator(renamed)


def test_onnx_generator_runs_without_torch(exported):
    _, path, _ = exported
    code = (
        "import sys, numpy as np\n"
        "from mouthsynth.inference.onnx_generator import OnnxGenerator\n"
        f"g = OnnxGenerator(r'{path}')\n"
        "out = g.run_crops(np.zeros((2, 64, 64, 3), np.uint8), np.ones((2, 64, 64), np.float32))\n"
        "assert out.shape == (2, 64, 64, 3) and out.dtype == np.uint8\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_export_runs_at_any_side_and_reads_the_largest_trained(tmp_path):
    """Inference runs the generator at the crop's own side: the export must take any multiple
    of 32, and tell inference the largest side the model was trained at."""
    torch.manual_seed(0)
    net = MobileNetUNet(width=0.25).eval()
    path = tmp_path / "multi.onnx"
    meta = {"mouthsynth.crop_size": "64", "mouthsynth.max_crop_size": "128"}
    info = export_onnx(net, path, 64, meta, max_size=128)
    assert info["max_abs_diff"] <= 1e-3
    gen = OnnxGenerator(path)
    assert gen.crop_size == 64 and gen.max_crop_size == 128
    x = np.random.default_rng(2).uniform(-1, 1, (2, 4, 96, 128)).astype(np.float32)
    x[:, 3] = (x[:, 3] > 0.3).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    assert np.abs(gen(x) - expected).max() <= 1e-3
