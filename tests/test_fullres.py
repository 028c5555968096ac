"""Full-resolution evaluation on real photos with the shipped model: the whole pipeline on the
original image, scored at its own resolution, and blind to the interior it is judged on."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.evaluation.fullres import (
    GRID_HEIGHT,
    FullSource,
    evaluate_full,
    iter_samples,
    lpips_or_reason,
    run_full_methods,
    score_full,
)
from mouthsynth.evaluation.report import HEADER_PX
from mouthsynth.io.images import read_image

# CelebA-HQ smiles with the teeth showing (open mouths at 1024 px).
PHOTOS = ["stargan-v2_006930.jpg", "stargan-v2_012712.jpg"]


@pytest.fixture(scope="module")
def synth():
    from mouthsynth import MouthSynthesizer

    return MouthSynthesizer()  # the shipped default.onnx


@pytest.fixture(scope="module")
def sources(photos_dir):
    return [FullSource(photos_dir / name, name.split(".")[0]) for name in PHOTOS]


@pytest.fixture(scope="module")
def samples(synth, sources):
    found = list(iter_samples(sources, synth.landmarks, synth.cfg.geometry, synth.cfg.data.min_open))
    assert len(found) == len(PHOTOS), [s.id for s in found]
    return found


def test_full_level_scores_every_sample_at_full_resolution(synth, sources, samples):
    ev = evaluate_full(sources, synth, ["telea", "ns"], blends=("alpha",))
    assert ev.methods == ["telea", "ns", "model"]
    assert ev.ids == [s.id for s in samples] and ev.people == [s.identity for s in samples]
    assert "lpips" not in ev.unavailable
    for method in ev.methods:
        values = ev.per_sample[method]
        assert set(values) == {"l1", "psnr", "ssim", "sharpness", "seam", "lpips"}
        for name, column in values.items():
            assert len(column) == len(PHOTOS), (method, name)
            assert all(np.isfinite(column)), (method, name)
        assert all(0.01 < v < 0.5 for v in values["l1"]), values["l1"]
        assert all(0.3 < v < 1.0 for v in values["ssim"]), values["ssim"]
        assert all(0.0 < v < 5.0 for v in values["sharpness"]), values["sharpness"]
        assert all(0.0 < v < 1.0 for v in values["lpips"]), values["lpips"]
        assert all(5.0 < v < 40.0 for v in values["psnr"]), values["psnr"]
    for s in samples:  # the scored interior is at the photo's own resolution, not a crop's
        assert s.image.shape[:2] == (1024, 1024)
        assert s.hole.sum() > 2000
    report = ev.to_json()
    assert report["samples"] == len(PHOTOS) and report["people"] == len(PHOTOS)
    summary = report["methods"]["model"]["l1"]
    assert summary["people"] == len(PHOTOS) and summary["n"] == len(PHOTOS)
    assert summary["ci95_low"] <= summary["mean"] <= summary["ci95_high"]
    assert set(report["paired"]["model-telea"]) == set(report["methods"]["model"])
    diff = report["paired"]["model-telea"]["l1"]["mean"]
    assert diff == pytest.approx(summary["mean"] - report["methods"]["telea"]["l1"]["mean"])
    assert [row["person"] for row in report["per_person"]] == sorted(s.identity for s in samples)
    json.dumps(report)  # plain JSON
    tiles = ev.tiles[0]
    assert {"interior hidden", "telea", "model", "truth"} <= set(tiles)
    assert all(t.shape[0] == GRID_HEIGHT for t in tiles.values())


def test_the_truth_scores_perfectly_against_itself(samples):
    lpips = lpips_or_reason({})
    for s in samples:
        scores = score_full(s.image, s, lpips)
        assert scores["l1"] == 0.0 and scores["seam"] == 0.0
        assert scores["ssim"] == pytest.approx(1.0)
        assert scores["sharpness"] == pytest.approx(1.0)
        assert scores["psnr"] == 100.0
        assert scores["lpips"] == pytest.approx(0.0, abs=1e-6)


def test_the_interior_is_where_the_synthesizer_paints(synth, samples):
    """The scored interior (image px) and the synthesizer's own paste-back region agree."""
    for s in samples:
        alpha = synth.fill_faces(s.hidden, [s.landmarks], force=True).faces[0].mask
        painted = alpha >= 0.5
        iou = (painted & s.hole).sum() / (painted | s.hole).sum()
        assert iou > 0.9, iou


@pytest.mark.parametrize("hide", ["blur", "white"])
def test_no_method_reads_the_true_interior_at_full_resolution(synth, samples, hide):
    """Scramble the true interior (everything hidden) with the landmarks held fixed: no method's
    output may change inside the scored interior: not the generator, the border colour
    correction, the feathered paste-back, Poisson blending, nor the classical fillers."""
    rng = np.random.default_rng(0)
    methods = ["telea", "ns", "blur"]
    for s in samples:
        noise = rng.integers(0, 256, s.image.shape, dtype=np.uint8)
        scrambled = replace(s, image=np.where(s.hole[..., None], noise, s.image))
        honest = run_full_methods(s, synth, methods, ("alpha", "poisson"), hide)
        blind = run_full_methods(scrambled, synth, methods, ("alpha", "poisson"), hide)
        assert set(honest) == {*methods, "model", "model+poisson"}
        for name in honest:
            np.testing.assert_array_equal(honest[name][s.hole], blind[name][s.hole], err_msg=name)
            assert not np.array_equal(honest[name][s.hole], s.image[s.hole]), name
    # The check has teeth: the synthesizer run on the original image does read the interior.
    s = samples[0]
    scrambled = np.where(s.hole[..., None], rng.integers(0, 256, s.image.shape, dtype=np.uint8), s.image)
    a = synth.fill_faces(s.image, [s.landmarks], force=True).image
    b = synth.fill_faces(scrambled, [s.landmarks], force=True).image
    assert not np.array_equal(a[s.hole], b[s.hole])


def test_cli_full_level_on_photos_writes_json_and_grid(photos_dir, tmp_path):
    out, grid = tmp_path / "eval.json", tmp_path / "full.png"
    args = ["evaluate", *(str(photos_dir / p) for p in PHOTOS), "--level", "full", "--baselines", "telea"]
    result = CliRunner().invoke(app, [*args, "--json", str(out), "--full-grid", str(grid)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["levels"] == ["full"] and "methods" not in report  # no crop level asked for
    full = report["full"]
    assert full["samples"] == len(PHOTOS)
    assert full["sample_people"] == [p.split(".")[0] for p in PHOTOS]  # raw files: person = stem
    assert set(full["methods"]) == {"telea", "model", "model+poisson"}
    assert len(full["per_sample"]["model"]["l1"]) == len(PHOTOS)
    picture = read_image(grid)
    assert picture.shape == (HEADER_PX + len(PHOTOS) * GRID_HEIGHT, 4 * GRID_HEIGHT, 3)
    assert "full resolution" in result.output and "model-telea" in result.output


def test_full_level_samples_every_nth_video_frame(synth, videos_dir):
    source = FullSource(videos_dir / "dreamtalk_W011_front_happy_level3_001.mp4", "mead_W011")
    assert source.is_video
    ev = evaluate_full(
        [source], synth, ["telea"], blends=("alpha",), every=20, max_samples=2, keep_tiles=False
    )
    assert len(ev) == 2 and not ev.errors
    assert all(f % 20 == 0 for f in ev.frames) and ev.frames == sorted(ev.frames)
    assert ev.people == ["mead_W011"] * 2
    assert all(0.0 < v < 0.5 for v in ev.per_sample["model"]["l1"])
    summary = ev.summary()["model"]["l1"]  # one person: the interval is that person's mean
    assert summary["people"] == 1 and summary["ci95_low"] == summary["ci95_high"] == summary["mean"]
