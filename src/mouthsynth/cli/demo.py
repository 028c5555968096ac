"""`mouthsynth demo`: the main job on a face that ships with scikit-image (astronaut())."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, user_errors


def command(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output PNG or folder.")] = Path("."),
    model: Annotated[Path | None, typer.Option(help="Generator ONNX file (default: shipped).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
) -> None:
    """Synthesise the mouth interior of scikit-image's astronaut() photo and write one PNG:
    original | white-filled | synthesised | mask."""
    with user_errors():
        from mouthsynth.demo import run_demo

        target = out / "mouthsynth_demo.png" if out.is_dir() or not out.suffix else out
        written = run_demo(target, model=model, overwrite=overwrite)
        console.print(f"wrote {written.resolve()}")
        print(written.resolve())
