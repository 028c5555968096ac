"""`mouthsynth evaluate`: the model against Telea, Navier-Stokes and a blur fill, with numbers
and picture grids, on the crops and at the original images' full resolution."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import BackendOption, ModelOption, console, user_errors


def command(
    data: Annotated[
        list[Path],
        typer.Argument(help="A prepared dataset (its --split), or videos/images (identity = file stem)."),
    ],
    model: ModelOption = None,
    baselines: Annotated[str, typer.Option(help="Comma-separated: telea, ns, blur.")] = "telea,ns,blur",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write means, CIs, per-person and per-sample values.")
    ] = None,
    grid: Annotated[
        Path | None, typer.Option(help="Write a PNG grid of crops: white-filled | baselines | model | truth.")
    ] = None,
    full_grid: Annotated[
        Path | None,
        typer.Option(
            "--full-grid",
            help="Write a PNG grid at full resolution: interior hidden | Telea | model | truth.",
        ),
    ] = None,
    max_samples: Annotated[
        int | None, typer.Option(help="Evaluate at most this many samples (per level).")
    ] = None,
    split: Annotated[
        str,
        typer.Option(help="Split of a prepared dataset: test (reported), val (checkpoints), train or all."),
    ] = "test",
    level: Annotated[
        str,
        typer.Option(
            help="crop: the model's crops; full: the whole pipeline on the original photos and sampled "
            "video frames; both: crops of every sample and full resolution on the photos; video: "
            "mouthsynth video's frame loop on consecutive frames of the videos (flicker, L1, LPIPS)."
        ),
    ] = "both",
    full_every: Annotated[int, typer.Option(help="Full level on videos: every Nth frame.")] = 25,
    video_frames: Annotated[
        int, typer.Option(help="Video level: consecutive frames of each video, from its start.")
    ] = 100,
    set_: Annotated[
        list[str],
        typer.Option("--set", help="Config override KEY=VALUE, e.g. inference.video_temporal=0."),
    ] = [],  # noqa: B006
    backend: BackendOption = "onnx",
    grid_rows: Annotated[int, typer.Option(help="Samples in each grid.")] = 8,
) -> None:
    """Every method fills the same hidden interior and goes through the same compositing. Crop
    level: the white-filled crops, metrics inside the interior mask (SSIM and LPIPS on the local
    crop). Full level: the whole pipeline on the original image, metrics at its own resolution
    inside the interior (SSIM and LPIPS on a box around the mouth). Means weigh every person the
    same; 95% intervals bootstrap people."""
    with user_errors():
        from mouthsynth.config import load_config
        from mouthsynth.evaluation.evaluate import LOWER_IS_BETTER, evaluate_levels
        from mouthsynth.evaluation.people import person_table
        from mouthsynth.evaluation.report import make_grid, render_paired, render_people, render_table

        names = [b.strip() for b in baselines.split(",") if b.strip()]
        result = evaluate_levels(
            data,
            model,
            names,
            max_samples,
            None if split == "all" else split,
            level,
            backend=backend,
            full_every=full_every,
            cfg=load_config(None, set_),
            progress=sys.stderr.isatty(),
            video_frames=video_frames,
        )
        parts = [("crop level", result.crop), ("full resolution", result.full), ("video", result.video)]
        for title, part in parts:
            if part is None or not part.people:
                continue
            people = part.people
            console.print(render_table(part.summary(), LOWER_IS_BETTER, title=f"{title} (people-weighted)"))
            console.print(f"{len(people)} samples of {len(set(people))} people")
            paired = part.paired()
            if paired:
                console.print(render_paired(paired, title=f"{title}: paired difference, 95% CI over people"))
            console.print(
                render_people(person_table(part.per_sample, people), title=f"{title}: per person (L1)")
            )
            for reason in part.unavailable.values():
                console.print(reason)
        console.print(f"data: {data[0] if len(data) == 1 else f'{len(data)} files'}")
        for note in result.notes:
            console.print(note)
        for part in (result.full, result.video):
            for error in part.errors if part is not None else []:
                console.print(error)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result.to_json(), indent=1) + "\n")
            console.print(f"wrote {json_out}")
        crop = result.crop
        if grid is not None and crop is not None and crop.samples:
            step = max(1, len(crop.samples) // grid_rows)
            picks = list(range(0, len(crop.samples), step))[:grid_rows]
            columns = ["white-filled", *names, *[m for m in crop.methods if m.startswith("model")], "truth"]
            rows = []
            for i in picks:
                s = crop.samples[i]
                row = {"white-filled": crop.outputs_white(i), "truth": s.image}
                row.update({m: crop.outputs[m][i] for m in crop.methods})
                rows.append(row)
            make_grid(rows, columns, grid, overwrite=True)
            console.print(f"wrote {grid}")
        full = result.full
        if full_grid is not None:
            if full is None or not full.tiles:
                console.print(f"no full-resolution samples: {full_grid} not written")
            else:
                step = max(1, len(full.tiles) // grid_rows)
                rows = full.tiles[::step][:grid_rows]
                columns = ["interior hidden", *[m for m in ("telea",) if m in full.methods], "model", "truth"]
                make_grid(rows, columns, full_grid, overwrite=True)
                console.print(f"wrote {full_grid}")
