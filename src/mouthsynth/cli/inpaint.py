"""`mouthsynth inpaint`: fill the mouth interior in images and folders of images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import (
    BackendOption,
    BatchReport,
    BlendOption,
    DeviceOption,
    ModelOption,
    note_line,
    output_for,
    user_errors,
)


def command(
    inputs: Annotated[list[Path], typer.Argument(help="Images or folders of images.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output file (one input) or folder (mirrored).")],
    model: ModelOption = None,
    mask: Annotated[
        Path | None, typer.Option(help="Interior mask PNG for a single image (white = fill).")
    ] = None,
    backend: BackendOption = "onnx",
    device: DeviceOption = "cpu",
    blend: BlendOption = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
) -> None:
    """Synthesise the interior of every open mouth and paste it back. Faces with a closed mouth
    are left as they are and reported; an image with no face or no open mouth is reported as
    skipped and nothing is written for it (exit code 1, like any other skipped input)."""
    with user_errors():
        from mouthsynth.config import load_config
        from mouthsynth.errors import (
            ConfigError,
            InputError,
            MouthClosedError,
            MouthSynthError,
            NoFaceError,
            OutputExistsError,
        )
        from mouthsynth.inference.synthesizer import MouthSynthesizer, check_mask
        from mouthsynth.io.images import iter_inputs, read_image, write_image

        if blend is not None and blend not in ("alpha", "poisson"):
            raise ConfigError(f"--blend: {blend!r} is not one of alpha, poisson")
        items = iter_inputs(inputs)
        if mask is not None and len(items) != 1:
            raise InputError(mask, "--mask works with exactly one input image")
        targets = output_for(items, out, None)
        synth = MouthSynthesizer(model, backend=backend, device=device, config=load_config(), blend=blend)
        user_mask = read_image(mask)[..., 0] if mask is not None else None
        report = BatchReport()
        for (path, _rel), target in zip(items, targets, strict=True):
            try:
                if target.exists() and not overwrite:
                    raise OutputExistsError(target)
                image = read_image(path)
                if user_mask is not None:
                    user_mask = check_mask(user_mask, image.shape, str(mask))
                result = synth(image, mask=user_mask)
                if not result.faces:
                    raise NoFaceError(path)
                if not result.synthesised:
                    widest = max(f.mouth_open for f in result.faces)
                    raise MouthClosedError(path, widest, synth.cfg.geometry.min_open)
                for i, face in enumerate(result.faces):
                    if not face.synthesised:
                        note_line(
                            f"{path}: face {i}: {face.reason} (mouth_open {face.mouth_open:.3f}), left as is"
                        )
                write_image(target, result.image, overwrite=overwrite)
                report.processed.append(str(path))
            except MouthSynthError as exc:
                report.skip(exc, path)
        report.summary()
        raise typer.Exit(report.exit_code())
