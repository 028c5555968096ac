"""`mouthsynth video`: fill the mouth interior in every frame of a video, audio kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import BackendOption, BlendOption, DeviceOption, ModelOption, console, user_errors


def command(
    source: Annotated[Path, typer.Argument(help="Input video.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output video (mp4).")],
    model: ModelOption = None,
    backend: BackendOption = "onnx",
    device: DeviceOption = "cpu",
    blend: BlendOption = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    set_: Annotated[
        list[str],
        typer.Option(
            "--set", help="Config override KEY=VALUE, e.g. inference.video_preset=superfast (repeatable)."
        ),
    ] = [],  # noqa: B006
) -> None:
    """Stream the video through the synthesiser: same frames, fps and size; the audio stream is
    copied unchanged. Frames without a face or with a closed mouth pass through."""
    with user_errors():
        from mouthsynth.config import load_config
        from mouthsynth.errors import OutputExistsError
        from mouthsynth.inference.synthesizer import MouthSynthesizer

        config = load_config(None, set_)  # a bad key or value fails before any work
        if out.exists() and not overwrite:
            raise OutputExistsError(out)
        synth = MouthSynthesizer(model, backend=backend, device=device, config=config, blend=blend)
        stats = synth.process_video(source, out, overwrite=overwrite)
        console.print(
            f"wrote {out}: {stats['frames']} frames in {stats['seconds']:.1f} s "
            f"({stats['frames'] / max(stats['seconds'], 1e-6):.1f} frames/s); "
            f"{stats['synthesised']} synthesised, "
            f"{stats['closed']} closed mouth, {stats['no_face']} without a face"
        )
