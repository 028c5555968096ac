"""`mouthsynth evaluate`: the model against Telea, Navier-Stokes and a blur fill, with numbers
and a picture grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, user_errors


def command(
    data: Annotated[list[Path], typer.Argument(help="A prepared dataset (its val split), or videos/images.")],
    model: Annotated[
        Path | None, typer.Option(help="ONNX model (default: shipped) or checkpoint with --backend torch.")
    ] = None,
    baselines: Annotated[str, typer.Option(help="Comma-separated: telea, ns, blur.")] = "telea,ns,blur",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write means, CIs and per-sample values.")
    ] = None,
    grid: Annotated[
        Path | None, typer.Option(help="Write a PNG grid: white-filled | baselines | model | truth.")
    ] = None,
    max_samples: Annotated[int | None, typer.Option(help="Evaluate at most this many samples.")] = None,
    split: Annotated[str, typer.Option(help="Split of a prepared dataset: val, train or all.")] = "val",
    backend: Annotated[str, typer.Option(help="onnx or torch.")] = "onnx",
    grid_rows: Annotated[int, typer.Option(help="Samples in the grid.")] = 8,
) -> None:
    """Every method fills the same white-filled crops and masks and goes through the same
    compositing; metrics inside the interior mask (SSIM and LPIPS on the local crop)."""
    with user_errors():
        from mouthsynth.evaluation.evaluate import LOWER_IS_BETTER, evaluate
        from mouthsynth.evaluation.report import make_grid, render_table

        names = [b.strip() for b in baselines.split(",") if b.strip()]
        result = evaluate(data, model, names, max_samples, None if split == "all" else split, backend=backend)
        console.print(render_table(result.summary(), LOWER_IS_BETTER))
        console.print(f"{len(result.samples)} samples from {result.dataset}")
        for reason in result.unavailable.values():
            console.print(reason)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result.to_json(), indent=1) + "\n")
            console.print(f"wrote {json_out}")
        if grid is not None:
            step = max(1, len(result.samples) // grid_rows)
            picks = list(range(0, len(result.samples), step))[:grid_rows]
            columns = ["white-filled", *names, *[m for m in result.methods if m.startswith("model")], "truth"]
            rows = []
            for i in picks:
                s = result.samples[i]
                row = {"white-filled": result.outputs_white(i), "truth": s.image}
                row.update({m: result.outputs[m][i] for m in result.methods})
                rows.append(row)
            make_grid(rows, columns, grid, overwrite=True)
            console.print(f"wrote {grid}")
