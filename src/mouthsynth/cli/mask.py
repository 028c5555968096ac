"""`mouthsynth mask`: show what the geometry stage sees in an image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import BatchReport, note_line, output_for, user_errors


def command(
    images: Annotated[list[Path], typer.Argument(help="Image files or folders.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output PNG (one input) or folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the geometry as JSON on stdout.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    backend: Annotated[str, typer.Option(help="Landmark backend: mediapipe or dlib68.")] = "mediapipe",
) -> None:
    """Draw both lip contours, the interior mask and the two crop boxes, with the white-filled
    global crop beside the image."""
    with user_errors():
        from mouthsynth.config import LandmarkConfig, load_config
        from mouthsynth.errors import MouthSynthError, NoFaceError
        from mouthsynth.geometry import global_box_corners
        from mouthsynth.geometry.faces import find_mouths
        from mouthsynth.geometry.overlay import draw_geometry
        from mouthsynth.io.images import iter_inputs, read_image, write_image
        from mouthsynth.landmarks import create_backend

        cfg = load_config()
        inputs = iter_inputs(images)
        targets = output_for(inputs, out, ".png")
        lm = create_backend(LandmarkConfig(backend=backend))
        report = BatchReport()
        for (path, _rel), target in zip(inputs, targets, strict=True):
            try:
                image = read_image(path)
                faces = find_mouths(image, lm, 128, cfg.geometry)
                if not faces:
                    raise NoFaceError(path)
                for i, (_face, crop) in enumerate(faces):
                    if crop.mouth_open < cfg.geometry.min_open:
                        note_line(f"{path}: face {i}: mouth closed (mouth_open {crop.mouth_open:.3f})")
                write_image(target, draw_geometry(image, faces), overwrite=overwrite)
            except MouthSynthError as exc:
                report.skip(exc, path)
                continue
            report.processed.append(str(path))
            if as_json:
                record = {
                    "image": str(path),
                    "width": int(image.shape[1]),
                    "height": int(image.shape[0]),
                    "output": str(target),
                    "faces": [
                        {
                            "mouth_open": round(float(crop.mouth_open), 5),
                            "inner_lip": face.inner_lip.round(2).tolist(),
                            "outer_lip": face.outer_lip.round(2).tolist(),
                            "global_box": global_box_corners(crop).round(2).tolist(),
                            "local_box": list(crop.local_box),
                        }
                        for face, crop in faces
                    ],
                }
                print(json.dumps(record), flush=True)
        if len(inputs) > 1 or report.skipped:
            report.summary()
        if report.exit_code():
            raise typer.Exit(report.exit_code())
