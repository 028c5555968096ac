"""The evaluation table and the side-by-side PNG grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rich.console import Console

from mouthsynth.errors import OutputExistsError
from mouthsynth.evaluation.metrics import summarize
from mouthsynth.evaluation.report import HEADER_PX, format_summary, make_grid, render_table
from mouthsynth.io.images import read_image


def rendered(table) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(table)
    return console.export_text()


def test_table_shows_mean_and_interval_per_method_and_metric():
    rows = {
        "telea": {"l1": summarize([0.1, 0.2, 0.3]), "psnr": summarize([20.0, 22.0])},
        "model": {"l1": summarize([0.05, 0.06, 0.07]), "flicker": summarize([math.nan])},
    }
    text = rendered(render_table(rows, {"l1": True, "psnr": False}))
    telea, model = (next(line for line in text.splitlines() if name in line) for name in ("telea", "model"))
    half = (rows["telea"]["l1"]["ci95_high"] - rows["telea"]["l1"]["ci95_low"]) / 2
    assert f"0.200 ± {half:.3f}" in telea and "21.0 ± " in telea
    assert "0.060 ± " in model
    assert model.count("n/a") == 2  # no psnr for the model, flicker measured on nothing
    assert "l1 ↓" in text and "psnr ↑" in text and "flicker" in text


def test_format_summary():
    assert format_summary(summarize([1.0, 3.0])).startswith("2.00 ± ")
    assert format_summary(summarize([])) == "n/a"


def test_grid_places_every_tile_under_its_label(tmp_path):
    rng = np.random.default_rng(0)
    samples = [
        {name: rng.integers(0, 256, (32, 32, 3)).astype(np.uint8) for name in ("white", "telea", "truth")}
        for _ in range(2)
    ]
    del samples[1]["telea"]
    columns = ["white", "telea", "truth"]
    path = tmp_path / "grid.png"
    grid = make_grid(samples, columns, path)
    assert grid.shape == (HEADER_PX + 2 * 32, 3 * 32, 3)
    np.testing.assert_array_equal(grid[HEADER_PX : HEADER_PX + 32, 32:64], samples[0]["telea"])
    np.testing.assert_array_equal(grid[HEADER_PX + 32 :, 64:96], samples[1]["truth"])
    assert len(np.unique(grid[HEADER_PX + 32 :, 32:64])) == 1  # the missing tile is plain grey
    for c in range(3):  # every column has its label drawn
        assert (grid[:HEADER_PX, 32 * c : 32 * (c + 1)] < 128).any()
    np.testing.assert_array_equal(read_image(path), grid)
    with pytest.raises(OutputExistsError):
        make_grid(samples, columns, path)
    make_grid(samples, columns, path, overwrite=True)


# --- people, not frames -------------------------------------------------------------------------
def test_one_person_collapses_the_interval_to_their_mean():
    from mouthsynth.evaluation.people import person_summary

    s = person_summary([0.1, 0.2, 0.3, 0.6], ["ann"] * 4)
    assert s["mean"] == pytest.approx(0.3) and s["people"] == 1 and s["n"] == 4
    assert s["ci95_low"] == s["ci95_high"] == s["mean"]


def test_people_who_agree_give_an_interval_of_zero_width():
    from mouthsynth.evaluation.people import person_summary

    # Different frames, different counts, the same per-person mean: nothing varies between people.
    s = person_summary([0.1, 0.3, 0.2, 0.2, 0.2, 0.0, 0.4], list("aabbbcc"))
    assert s["mean"] == pytest.approx(0.2) and s["people"] == 3
    assert s["ci95_low"] == pytest.approx(0.2) and s["ci95_high"] == pytest.approx(0.2)


def test_each_person_weighs_the_same_however_many_frames_they_have():
    from mouthsynth.evaluation.people import paired_summary, person_summary, person_table

    # Ann: nine video frames at 0; Bob: one photo at 1. Frames would say 0.1; people say 0.5.
    values, people = [0.0] * 9 + [1.0], ["ann"] * 9 + ["bob"]
    s = person_summary(values, people)
    assert s["mean"] == pytest.approx(0.5) and s["sample_mean"] == pytest.approx(0.1)
    assert s["people"] == 2 and s["n"] == 10
    # Resampling two people gives means 0, 0.5 or 1: the interval spans them, whatever the frames.
    assert s["ci95_low"] == pytest.approx(0.0) and s["ci95_high"] == pytest.approx(1.0)
    nan = float("nan")
    d = paired_summary([0.2] * 9 + [0.5], [0.3] * 8 + [nan, 0.4], people)
    assert d["mean"] == pytest.approx((-0.1 + 0.1) / 2) and d["n"] == 9 and d["dropped"] == 1
    rows = person_table({"model": {"l1": values}, "telea": {"l1": [0.5] * 10}}, people)
    assert rows == [
        {"person": "ann", "n": 9, "model": 0.0, "telea": 0.5, "ratio": 0.0},
        {"person": "bob", "n": 1, "model": 1.0, "telea": 0.5, "ratio": 2.0},
    ]


def test_undefined_values_and_empty_input():
    from mouthsynth.evaluation.people import person_summary

    s = person_summary([float("nan"), 0.4], ["a", "b"])
    assert s["mean"] == pytest.approx(0.4) and s["people"] == 1 and s["dropped"] == 1
    empty = person_summary([], [])
    assert math.isnan(empty["mean"]) and empty["people"] == 0
    with pytest.raises(ValueError):
        person_summary([0.1], ["a", "b"])


def test_paired_and_people_tables_render():
    from mouthsynth.evaluation.people import paired_summary, person_table
    from mouthsynth.evaluation.report import render_paired, render_people

    people = ["a", "a", "b"]
    paired = {"model-telea": {"l1": paired_summary([0.1, 0.2, 0.3], [0.2, 0.2, 0.5], people)}}
    text = rendered(render_paired(paired))
    assert "model-telea" in text and "-0.1250" in text and "[-0.2000, -0.0500]" in text  # a: -0.05, b: -0.2
    rows = person_table({"model": {"l1": [0.1, 0.2, 0.3]}, "telea": {"l1": [0.2, 0.2, 0.5]}}, people)
    text = rendered(render_people(rows))
    assert "ratio" in text and "0.750" in text and "0.600" in text
