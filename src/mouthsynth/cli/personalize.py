"""`mouthsynth personalize`: fine-tune the shipped generator to one person's own footage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, is_tty, note_line, user_errors


def command(
    inputs: Annotated[list[Path], typer.Argument(help="Videos, images or folders of one person.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="The personalised ONNX model to write.")],
    minutes: Annotated[
        float, typer.Option(help="Budget for the whole run: preparation, fitting and export.")
    ] = 5.0,
    steps: Annotated[int | None, typer.Option(help="Stop after this many fine-tuning steps.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Training state to start from (default: the shipped model's, models/default_state)."
        ),
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="Recipe override KEY=VALUE, e.g. train.lr=0.0002 (repeatable).")
    ] = [],  # noqa: B006
) -> None:
    """Find the open-mouth frames of the footage, fine-tune the shipped generator on them within
    the budget, and write an ONNX model with its card (OUT with .json). Use it with `--model` in
    `inpaint`, `video`, `transfer` and `evaluate`. The footage must show one person with at least
    about 20 open-mouth frames; on any failure nothing is written."""
    with user_errors():
        from mouthsynth.training.personalize import personalize

        result = personalize(
            inputs,
            out,
            minutes=minutes,
            steps=steps,
            overwrite=overwrite,
            state=state,
            overrides=set_,
            progress=is_tty(),
            note=note_line,
        )
        losses = ", ".join(f"{k.split('/')[-1]} {v:.3f}" for k, v in result.losses.items())
        console.print(
            f"wrote {result.model} and {result.card_path}: {result.steps} steps on {result.frames} "
            f"open-mouth frames in {result.seconds:.0f} s (fit {result.fit_seconds:.0f} s)"
            + (f"; last losses {losses}" if losses else "")
        )
