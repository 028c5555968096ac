"""What every command shares: one-line errors, exit codes, output paths, batch summaries."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mouthsynth.errors import MouthSynthError

# The options several commands take, worded once.
ModelOption = Annotated[
    Path | None, typer.Option(help="ONNX model (default: shipped) or checkpoint (with --backend torch).")
]
BackendOption = Annotated[str, typer.Option(help="onnx or torch.")]
DeviceOption = Annotated[str, typer.Option(help="cpu or cuda.")]
BlendOption = Annotated[
    str | None,
    typer.Option(help="alpha (soft edge + seam correction; default: inference.blend) or poisson."),
]

# Wide enough for the evaluation table when written to a log rather than a terminal.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 150)


def error_line(message: str) -> None:
    # One line, naming the file and the problem, on stderr.
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)


def note_line(message: str) -> None:
    console.print(f"[yellow]note:[/yellow] {message}", soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn mouthsynth errors into one clear line and exit code 1, not a traceback."""
    try:
        yield
    except MouthSynthError as exc:
        error_line(str(exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        error_line("interrupted")
        raise typer.Exit(130) from None


@dataclass
class BatchReport:
    """Processed and skipped inputs of a batch command; a bad input never stops the rest."""

    processed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, exc: MouthSynthError | str, path: object | None = None) -> None:
        message = str(exc)
        self.skipped.append((str(path) if path is not None else "", message))
        error_line(message)

    def summary(self) -> None:
        n_ok, n_bad = len(self.processed), len(self.skipped)
        console.print(f"done: {n_ok} processed, {n_bad} skipped")
        for path, reason in self.skipped:
            console.print(f"  skipped {reason}" if reason.startswith(path) else f"  skipped {path}: {reason}")

    def exit_code(self) -> int:
        return 1 if self.skipped else 0


def output_for(inputs: list[tuple[Path, Path]], out: Path, suffix: str | None = None) -> list[Path]:
    """One input: ``out`` is the output file. Several: ``out`` is a folder, mirroring each
    input's path relative to the folder it was found in."""
    if len(inputs) == 1 and not (out.exists() and out.is_dir()) and out.suffix:
        return [out]
    paths = []
    for _path, relative in inputs:
        target = out / relative
        if suffix is not None:
            target = target.with_suffix(suffix)
        paths.append(target)
    return paths


def is_tty() -> bool:
    return sys.stderr.isatty()
