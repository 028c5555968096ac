"""The `mouthsynth` command. Each command lives in its own module and imports its heavy
dependencies only when it runs, so `mouthsynth --help` is instant and inference never loads
the training stack."""

from __future__ import annotations

import importlib
import os

import typer

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
}

for _name, _module in COMMANDS.items():
    app.command(_name)(importlib.import_module(f"mouthsynth.cli.{_module}").command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
