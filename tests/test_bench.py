"""`mouthsynth bench` end to end on a tiny model: figures present and sane (not timed)."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.export.onnx_export import export_onnx
from mouthsynth.nets.generator import MobileNetUNet


def test_bench_reports_cost_speed_and_pipeline_stages(tmp_path, videos_dir):
    torch.manual_seed(0)
    model = tmp_path / "tiny.onnx"
    export_onnx(MobileNetUNet(0.25), model, 64, {"mouthsynth.crop_size": "64", "mouthsynth.width": "0.25"})
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--model",
            str(model),
            "--repeats",
            "2",
            "--json",
            str(out),
            "--max-frames",
            "12",
            "--video",
            str(videos_dir / "dreamtalk_M030_front_happy_level3_001.mp4"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert 0 < report["model_info"]["macs"] < 0.5e9
    for batch in ("batch_1", "batch_16"):
        row = report["generator"][batch]
        for name in ("onnxruntime", "torch_eager", "opencv_telea"):
            assert row[name]["crops_per_s"] > 0 and row[name]["ms_per_crop"] > 0
    sides = report["crop_sides"]
    assert sides["base"] == 64 and sides["sides"]["64"]["ms_per_crop"] > 0
    assert sides["sides"]["64"]["vs_telea_time"] > 0
    pipe = report["pipeline"]
    assert pipe["frames"] == 12 and pipe["frames_per_s"] > 0
    stages = {"decode", "landmarks", "generation", "compositing", "encode"}
    assert stages <= set(pipe["ms_per_frame_by_stage"])
    assert pipe["bottleneck"] in pipe["ms_per_frame_by_stage"]
    # The threads overlap stages: their busy time adds up to more than the wall time allows
    # one after another only when they overlap; the sequential run in the same process is there.
    assert pipe["overlap"] > 0 and pipe["runs"]["sequential"]["frames"] == 12
    assert pipe["speedup_vs_sequential"] > 0 and pipe["crop_sides"] == [64]
    assert "pipeline on" in result.output and "threads:" in result.output
