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
    out, grid, full_grid = tmp_path / "eval.json", tmp_path / "grid.png", tmp_path / "full.png"
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
            "--split",
            "val",  # the tiny dataset has no test people
            "--full-grid",
            str(full_grid),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["split"] == "val" and report["levels"] == ["crop", "full"]
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
    # People, not frames: two val people (a talking clip, a photo), each weighs the same.
    people = report["sample_people"]
    assert len(people) == n and set(people) == {"mead_W011", "stargan-v2_006930"}
    l1 = methods["model"]["l1"]
    per_person = {row["person"]: row for row in report["per_person"]}
    assert l1["people"] == 2
    assert l1["mean"] == pytest.approx(
        (per_person["mead_W011"]["model"] + per_person["stargan-v2_006930"]["model"]) / 2
    )
    assert per_person["mead_W011"]["n"] + per_person["stargan-v2_006930"]["n"] == n
    paired = report["paired"]["model-telea"]
    assert paired["l1"]["mean"] == pytest.approx(l1["mean"] - methods["telea"]["l1"]["mean"])
    assert "flicker" in paired and len(report["flicker_people"]) == len(report["flicker_per_pair"]["model"])
    # The default level on a prepared dataset: crops of every sample, full resolution on photos.
    full = report["full"]
    assert full["samples"] == 1 and full["sample_people"] == ["stargan-v2_006930"]
    assert len(full["per_sample"]["model"]["l1"]) == 1
    assert read_image(full_grid).shape[1] == 4 * 192  # interior hidden | telea | model | truth


def test_every_method_sees_the_same_known_pixels(tiny_dataset, tiny_model):
    from mouthsynth.evaluation.evaluate import evaluate

    ev = evaluate([tiny_dataset], tiny_model, ["telea", "blur"], max_samples=6, split="val")
    for i, sample in enumerate(ev.samples):
        known = sample.mask < 0.5
        for method in ev.methods:
            assert np.array_equal(ev.outputs[method][i][known], sample.image[known]), method


def test_no_method_reads_the_ground_truth_interior(tiny_dataset, tiny_model):
    """Every method, Poisson blending included, must fill the interior from the known pixels
    only: scrambling the true interior may not change any output."""
    from dataclasses import replace

    from mouthsynth.config import Config
    from mouthsynth.evaluation.evaluate import load_samples, run_methods
    from mouthsynth.inference.onnx_generator import OnnxGenerator

    samples = load_samples(tiny_dataset, "val", 64, 6, Config())
    generator = OnnxGenerator(tiny_model)
    rng = np.random.default_rng(0)
    scrambled = []
    for s in samples:
        noise = rng.integers(0, 256, s.image.shape, dtype=np.uint8)
        scrambled.append(replace(s, image=np.where(s.mask[..., None] > 0, noise, s.image)))
    methods = ["telea", "ns", "blur"]
    honest = run_methods(samples, generator, methods, ("alpha", "poisson"))
    blind = run_methods(scrambled, generator, methods, ("alpha", "poisson"))
    assert set(honest) == {*methods, "model", "model+poisson"}
    for name in honest:
        for a, b, s in zip(honest[name], blind[name], samples, strict=True):
            inside = s.mask > 0
            np.testing.assert_array_equal(a[inside], b[inside], err_msg=name)
