"""`mouthsynth prepare`: talking-face videos and photos -> a training dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import console, user_errors


def command(
    sources: Annotated[list[Path], typer.Argument(help="Videos, images, or folders of them.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Dataset folder (created; reruns resume).")],
    every: Annotated[int | None, typer.Option(help="Use every Nth video frame.")] = None,
    size: Annotated[int | None, typer.Option(help="Training crop size (crops are stored at 2x).")] = None,
    min_open: Annotated[float | None, typer.Option(help="mouth_open threshold for a sample.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (one source each).")] = 1,
    identities: Annotated[
        Path | None, typer.Option(help="YAML mapping file patterns to identities and the val split.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="YAML config file.")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Config override KEY=VALUE (repeatable).")] = [],  # noqa: B006
) -> None:
    """Find every face with an open mouth and store its aligned crop, interior mask and lips,
    split into train/val by identity."""
    with user_errors():
        from mouthsynth.cli.common import error_line
        from mouthsynth.config import load_config
        from mouthsynth.data.identities import IdentityRules
        from mouthsynth.data.prepare import prepare

        overrides = list(set_)
        if every is not None:
            overrides.append(f"data.every={every}")
        if size is not None:
            overrides.append(f"data.size={size}")
        if min_open is not None:
            overrides.append(f"data.min_open={min_open}")
        cfg = load_config(config, overrides)
        rules = IdentityRules.load(identities)
        summary = prepare(sources, out, cfg, rules, workers=workers, on_error=error_line)
        console.print(
            f"prepared {out}: {summary.sources_done} sources done now, "
            f"{summary.sources_skipped_done} already done, "
            f"{len(summary.errors)} failed; {summary.frames} frames read in {summary.seconds:.0f} s"
        )
        console.print(
            f"  samples: {summary.samples} ({summary.samples_closed} closed-mouth), "
            + ", ".join(f"{k}: {v}" for k, v in sorted(summary.per_split.items()))
            + f"; skipped faces: {summary.skipped_closed} closed, {summary.skipped_small} too small"
        )
        for split, ids in sorted(summary.identities.items()):
            console.print(f"  {split} identities ({len(ids)}): {', '.join(sorted(ids))}")
        if summary.errors:
            raise typer.Exit(1)
