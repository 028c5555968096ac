"""The `mouthsynth` command. Each command lives in its own module and imports its heavy
dependencies only when it runs, so `mouthsynth --help` is instant and inference never loads
the training stack. Commands are quiet by default: `mouthsynth --verbose <command>` also shows
the libraries' own log lines (MediaPipe, TensorFlow Lite) and mouthsynth's info messages."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

app = typer.Typer(
    name="mouthsynth",
    help="Paint a realistic mouth interior (teeth, tongue, cavity) into faces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

# command name -> module under mouthsynth.cli defining `command`
COMMANDS = {
    "demo": "demo",
    "inpaint": "inpaint",
    "video": "video",
    "mask": "mask",
    "prepare": "prepare",
    "train": "train",
    "export": "export",
    "evaluate": "evaluate",
    "bench": "bench",
    "transfer": "transfer",
    "personalize": "personalize",
    "app": "app",
}


@app.callback()
def _global_options(
    ctx: typer.Context,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Also show the libraries' log lines (MediaPipe, TensorFlow Lite, ...) and info messages.",
        ),
    ] = False,
) -> None:
    from mouthsynth.logging_setup import configure, native_stderr_silenced

    configure(verbose)
    # Until the command ends, C/C++ writes to stderr go nowhere; Python's still reach the user.
    ctx.with_resource(native_stderr_silenced(keep_python_stderr=True))


for _name, _module in COMMANDS.items():
    app.command(_name)(importlib.import_module(f"mouthsynth.cli.{_module}").command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
