"""`mouthsynth app`: the web app, served on this computer."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, error_line, user_errors


def command(
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this computer only; 0.0.0.0: the network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    model: Annotated[
        Path | None, typer.Option(help="ONNX model for the 'shipped' choice (default: shipped).")
    ] = None,
    samples: Annotated[
        list[Path], typer.Option("--samples", help="Images or folders offered as samples (repeatable).")
    ] = [],  # noqa: B006
    max_upload_mb: Annotated[float, typer.Option(help="Largest upload accepted, in MB.")] = 200.0,
    max_video_seconds: Annotated[float, typer.Option(help="Longest video accepted, in seconds.")] = 60.0,
) -> None:
    """Open mouthsynth in a web browser: an image (upload or sample; result and mask side by side),
    a video (audio kept), mouth motion transfer, and personalisation (with the train extra).
    Needs the app extra: pip install "mouthsynth[app]". Stop it with Ctrl-C; its temporary files
    (uploads, results, personal models) are removed then."""
    with user_errors():
        from mouthsynth.errors import ConfigError

        if importlib.util.find_spec("gradio") is None:
            from rich.markup import escape

            error_line(escape('`mouthsynth app` needs the app extra: pip install "mouthsynth[app]"'))
            raise typer.Exit(1)
        if model is not None and not model.is_file():
            raise ConfigError(f"{model}: model file not found")
        images: list[Path] = []
        if samples:
            from mouthsynth.io.images import iter_inputs

            images = [path for path, _rel in iter_inputs(samples)]

        from mouthsynth.app.ui import serve

        def ready(url: str, root: Path) -> None:
            console.print(f"mouthsynth app on {url} (Ctrl-C to stop); temporary files in {root}")
            print(url, flush=True)

        serve(
            host=host,
            port=port,
            model=model,
            samples=images,
            max_upload_mb=max_upload_mb,
            max_video_seconds=max_video_seconds,
            on_ready=ready,
        )
