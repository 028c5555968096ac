"""`mouthsynth evaluate` on a real tiny dataset: every method, the same crops, JSON and grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.export.onnx_export import export_onnx
from mouthsynth.io.images import read_image
from mouthsynth.nets.generator import MobileNetUNet


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    export_onnx(MobileNetUNet(0.25), path, 64, {"mouthsynth.crop_size": "64"})
    return path


def test_evaluate_reports_every_method_with_intervals(tiny_dataset, tiny_model, tmp_path):
    out, grid = tmp_path / "eval.json", tmp_path / "grid.png"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(tiny_dataset),
            "--model",
            str(tiny_model),
            "--json",
            str(out),
            "--grid",
            str(grid),
            "--grid-rows",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    methods = report["methods"]
    assert set(methods) == {"telea", "ns", "blur", "model", "model+poisson"}
    n = report["samples"]
    assert n > 5
    for name, row in methods.items():
        for metric in ("l1", "psnr", "ssim", "sharpness", "seam", "lpips"):
            summary = row[metric]
            assert summary["n"] + summary.get("dropped", 0) == n, (name, metric)
            assert summary["ci95_low"] <= summary["mean"] <= summary["ci95_high"]
        assert len(report["per_sample"][name]["l1"]) == n
        assert "flicker" in row  # the val split holds consecutive video frames
    # Perceptual distance needs ImageNet VGG19, which this workplace lacks: said, not faked.
    assert "VGG19" in report["unavailable"]["perceptual"]
    assert "lpips" not in report["unavailable"]
    # An untrained model is worse than Telea: the numbers are measured, not assumed.
    assert methods["model"]["l1"]["mean"] > methods["telea"]["l1"]["mean"]
    assert report["model"]["sha256"] and "dataset" in report
    picture = read_image(grid)
    assert picture.shape[1] == 7 * 64  # white-filled, 3 baselines, 2 model rows, truth
    assert "LPIPS" in result.output or "lpips" in result.output


def test_every_method_sees_the_same_known_pixels(tiny_dataset, tiny_model):
    from mouthsynth.evaluation.evaluate import evaluate

    ev = evaluate([tiny_dataset], tiny_model, ["telea", "blur"], max_samples=6)
    for i, sample in enumerate(ev.samples):
        known = sample.mask < 0.5
        for method in ev.methods:
            assert np.array_equal(ev.outputs[method][i][known], sample.image[known]), method
