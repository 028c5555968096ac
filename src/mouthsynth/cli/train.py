"""`mouthsynth train`: GAN training of the generator on a prepared dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mouthsynth.cli.common import DeviceOption, console, user_errors


def command(
    data: Annotated[Path, typer.Option("--data", help="Prepared dataset folder.")],
    out: Annotated[Path, typer.Option("--out", help="Run folder: config, checkpoints, logs.")],
    config: Annotated[Path | None, typer.Option(help="YAML config file.")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Config override KEY=VALUE (repeatable).")] = [],  # noqa: B006
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps in all.")] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the run in --out from its latest checkpoint.")
    ] = False,
    device: DeviceOption = "cpu",
    init_from: Annotated[
        Path | None,
        typer.Option(
            help="Continue a committed training state (e.g. src/mouthsynth/models/default_state) in a "
            "new run folder: its weights and cumulative step count."
        ),
    ] = None,
    max_minutes: Annotated[
        float | None, typer.Option(help="Stop after this much wall time (validated and checkpointed).")
    ] = None,
) -> None:
    """Train the MobileNet U-Net with the global and local discriminators. Under `torchrun` the
    same command trains with DistributedDataParallel. Ctrl-C or SIGTERM stops after the step under
    way, validated and checkpointed (a second one stops at once)."""
    with user_errors():
        from mouthsynth.config import load_config
        from mouthsynth.errors import InputError

        cfg = load_config(config, set_)  # bad keys fail here, before anything is built
        if not resume and (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir()):
            raise InputError(
                out, "run folder has checkpoints: pass --resume to continue it, or use a new folder"
            )
        from mouthsynth.training.trainer import Trainer

        trainer = Trainer(cfg, data, out, device=device, resume=resume, init_from=init_from)
        try:
            final = trainer.fit(max_steps, max_minutes)
        finally:
            trainer.close()
        if not trainer.is_main:
            return
        summary = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k.startswith(("val/", "g/total")))
        console.print(f"trained to step {trainer.step}: {summary}; checkpoints in {out / 'checkpoints'}")
