"""What a person reads of an evaluation: a terminal table of means with 95% intervals, and a PNG
grid of the same samples filled by every method, side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from rich.table import Table

from mouthsynth.io.images import write_image

Summary = Mapping[str, float | int]
HEADER_PX = 22  # height of the label row above the grid
_MISSING_GREY = 96  # a tile for a method that has no output for a sample


def _decimals(value: float) -> int:
    magnitude = abs(value)
    return 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3


def format_summary(summary: Summary) -> str:
    """``mean ± half-width`` of the 95% interval, or ``n/a`` when nothing was measured."""
    mean = summary.get("mean", math.nan)
    if mean is None or not math.isfinite(mean):
        return "n/a"
    half = (summary["ci95_high"] - summary["ci95_low"]) / 2
    d = _decimals(mean)
    return f"{mean:.{d}f} ± {half:.{d}f}"


def _best(rows: Mapping[str, Mapping[str, Summary]], metric: str, lower: bool | None) -> str | None:
    means = {
        m: r[metric]["mean"]
        for m, r in rows.items()
        if metric in r and r[metric].get("mean") is not None and math.isfinite(r[metric]["mean"])
    }
    if lower is None or not means:
        return None
    return (min if lower else max)(means, key=means.get)


def render_table(
    rows: Mapping[str, Mapping[str, Summary]],
    lower_is_better: Mapping[str, bool | None] | None = None,
    title: str = "mouthsynth evaluate",
) -> Table:
    """One row per method, one column per metric (first-seen order), ``mean ± 95% CI``.

    With ``lower_is_better`` the headers carry an arrow and the best method per metric is bold
    (``None`` for a metric whose ideal is a value, like the sharpness ratio's 1)."""
    direction = dict(lower_is_better or {})
    metrics: list[str] = []
    for row in rows.values():
        metrics += [name for name in row if name not in metrics]
    table = Table(title=title)
    table.add_column("method", style="cyan")
    for name in metrics:
        arrow = {True: " ↓", False: " ↑"}.get(direction.get(name), "")
        table.add_column(name + arrow, justify="right")
    table.add_column("n", justify="right")
    best = {name: _best(rows, name, direction.get(name)) for name in metrics}
    for method, row in rows.items():
        cells = []
        for name in metrics:
            text = format_summary(row[name]) if name in row else "n/a"
            cells.append(f"[bold]{text}[/bold]" if best[name] == method else text)
        counts = {int(s["n"]) for s in row.values() if "n" in s}
        cells.append("/".join(str(c) for c in sorted(counts)))
        table.add_row(method, *cells)
    return table


def _label(tile_width: int, text: str) -> np.ndarray:
    """A white header cell with ``text`` centred, shrunk until it fits the column."""
    cell = np.full((HEADER_PX, tile_width, 3), 255, np.uint8)
    font, thickness, scale = cv2.FONT_HERSHEY_SIMPLEX, 1, 0.5
    (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
    if w > tile_width - 4:
        scale *= (tile_width - 4) / w
        (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
    origin = (max(0, (tile_width - w) // 2), (HEADER_PX + h) // 2)
    cv2.putText(cell, text, origin, font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return cell


def make_grid(
    samples: Sequence[Mapping[str, np.ndarray]],
    columns: Sequence[str],
    path: str | Path | None = None,
    overwrite: bool = False,
) -> np.ndarray:
    """One row per sample, one column per name in ``columns`` (e.g. white-filled | baselines |
    model | truth), with a label row on top. Tiles take the first tile's size; a sample without
    a column gets a grey tile. Returns the RGB grid and writes it to ``path`` when given."""
    if not samples or not columns:
        raise ValueError("make_grid needs at least one sample and one column")
    first = next(img for s in samples for name in columns if (img := s.get(name)) is not None)
    h, w = first.shape[:2]
    header = np.hstack([_label(w, name) for name in columns])
    rows = [header]
    for sample in samples:
        tiles = []
        for name in columns:
            img = sample.get(name)
            if img is None:
                tiles.append(np.full((h, w, 3), _MISSING_GREY, np.uint8))
            else:
                tiles.append(img if img.shape[:2] == (h, w) else cv2.resize(img, (w, h)))
        rows.append(np.hstack(tiles))
    grid = np.vstack(rows)
    if path is not None:
        write_image(path, grid, overwrite=overwrite)
    return grid


def _fmt(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{_decimals(value)}f}"


def render_paired(paired: Mapping[str, Mapping[str, Summary]], title: str = "paired difference") -> Table:
    """One row per difference (e.g. ``model-telea``) and metric: the people-weighted mean
    difference and its 95% interval."""
    table = Table(title=title)
    for name in ("difference", "metric"):
        table.add_column(name, style="cyan")
    for name in ("mean", "95% CI", "people"):
        table.add_column(name, justify="right")
    for label, row in paired.items():
        for metric, s in row.items():
            mean = s.get("mean", math.nan)
            if mean is None or not math.isfinite(mean):
                table.add_row(label, metric, "n/a", "", str(s.get("people", "")))
                continue
            ci = f"[{s['ci95_low']:+.4f}, {s['ci95_high']:+.4f}]"
            table.add_row(label, metric, f"{mean:+.4f}", ci, str(s.get("people", "")))
    return table


def render_people(rows: Sequence[Mapping], title: str = "per person (L1)") -> Table:
    """The per-person table: person, samples, each method's mean and their ratio."""
    table = Table(title=title)
    columns = [k for k in (rows[0] if rows else {}) if k != "person"]
    table.add_column("person", style="cyan")
    for name in columns:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(str(row["person"]), *(str(row[c]) if c == "n" else _fmt(row[c]) for c in columns))
    return table
