"""`mouthsynth transfer`: drive a target face's mouth from another person's video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, user_errors


def command(
    driver: Annotated[Path, typer.Option(help="Video (or image) of a person speaking: the motion.")],
    target: Annotated[Path, typer.Option(help="Image or video of another person: the face to drive.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output video (or image, for two images).")],
    model: Annotated[Path | None, typer.Option(help="ONNX model (default: shipped).")] = None,
    strength: Annotated[float, typer.Option(help="Scale of the transferred motion.")] = 1.0,
    keep_audio: Annotated[str, typer.Option(help="driver, target or none.")] = "driver",
    driver_neutral: Annotated[
        str,
        typer.Option(
            help="The driver's neutral mouth: 'auto' (estimated from its most closed frames), "
            "a driver frame index, or an image of the driver with a neutral mouth."
        ),
    ] = "auto",
    target_mouth: Annotated[
        str,
        typer.Option(
            help="The target's own mouth: 'replace' its motion by the driver's (dubbing: an open "
            "photo mouth is closed first, a video's is brought to its neutral, estimated from its "
            "most closed frames, in every frame) or 'add' the driver's motion to it. A video "
            "target's head motion is kept either way."
        ),
    ] = "replace",
    max_frames: Annotated[int | None, typer.Option(help="Stop after this many frames (a preview).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
) -> None:
    """Transfer the driver's mouth motion (relative to its neutral mouth, normalised for face size,
    position and head pose) to the target: the target's jaw rotates and its lips move as the
    driver's, the lower face is warped to the new shape and the new mouth interior is
    synthesised. Eyes, nose, forehead and background do not move. A video target keeps its head
    motion; the target's own mouth motion is replaced by the driver's (--target-mouth replace)."""
    with user_errors():
        from mouthsynth.config import load_config
        from mouthsynth.inference.synthesizer import MouthSynthesizer
        from mouthsynth.transfer.pipeline import transfer

        synth = MouthSynthesizer(model, config=load_config())
        stats = transfer(
            driver,
            target,
            out,
            synth,
            strength,
            keep_audio,
            driver_neutral,
            overwrite,
            max_frames=max_frames,
            log=console.print,
            target_mouth=target_mouth,
        )
        console.print(
            f"wrote {out}: {stats.frames} frames in {stats.seconds:.1f} s, "
            f"{stats.synthesised} with a synthesised "
            f"interior; driver face lost in {stats.driver_lost}, target face lost in {stats.target_lost}"
        )
