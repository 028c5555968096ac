"""`mouthsynth evaluate --level video`: the video frame loop scored on consecutive frames, with
flicker, L1 and LPIPS per method and paired differences, written to JSON."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.export.onnx_export import export_onnx
from mouthsynth.nets.generator import MobileNetUNet


def test_evaluate_video_level_scores_consecutive_frames(tmp_path, videos_dir):
    torch.manual_seed(0)
    model = tmp_path / "tiny.onnx"
    export_onnx(MobileNetUNet(0.25), model, 64, {"mouthsynth.crop_size": "64", "mouthsynth.width": "0.25"})
    out = tmp_path / "video.json"
    clip = videos_dir / "dreamtalk_W011_front_happy_level3_001.mp4"
    args = ["evaluate", str(clip), "--model", str(model), "--level", "video", "--video-frames", "6"]
    result = CliRunner().invoke(app, [*args, "--json", str(out), "--set", "inference.video_temporal=0.5"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())["video"]
    assert report["frames"] == 6 and report["frame_pairs"] == 5
    assert set(report["methods"]) == {"telea", "model", "model-frame"}
    for row in report["methods"].values():
        assert {"l1", "lpips", "flicker"} <= set(row)
    assert report["scoring"]["temporal_filter"]["model"]["strength"] == 0.5
    assert report["scoring"]["temporal_filter"]["model-frame"]["strength"] == 0.0
    assert {"model-telea", "model-model-frame"} <= set(report["paired"])
    assert "video (people-weighted)" in result.output
