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
