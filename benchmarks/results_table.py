"""Markdown tables from `mouthsynth evaluate --json` files, for docs/results.md.

Usage:
  python benchmarks/results_table.py eval.json                      # every method, mean ± 95% CI
  python benchmarks/results_table.py --ablation runs/ablation/*/eval.json   # + paired steps
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = [
    ("l1", "L1 ↓", 4),
    ("psnr", "PSNR ↑", 2),
    ("ssim", "SSIM ↑", 3),
    ("lpips", "LPIPS ↓", 3),
    ("sharpness", "sharpness (1 = right)", 2),
    ("seam", "seam ↓", 3),
    ("flicker", "flicker ↓", 3),
]


def cell(summary: dict | None, digits: int) -> str:
    if not summary or summary.get("n", 0) == 0:
        return "n/a"
    half = (summary["ci95_high"] - summary["ci95_low"]) / 2
    return f"{summary['mean']:.{digits}f} ± {half:.{digits}f}"


def table(report: dict, label_of=lambda name: name) -> str:
    head = "| method | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "---|" * (len(COLUMNS) + 1)
    rows = [head, rule]
    for name, row in report["methods"].items():
        rows.append(f"| {label_of(name)} | " + " | ".join(cell(row.get(k), d) for k, _, d in COLUMNS) + " |")
    return "\n".join(rows)


def ablation(paths: list[Path]) -> str:
    head = "| run | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    telea = None
    for path in sorted(paths):
        report = json.loads(path.read_text())
        row = report["methods"]["model"]
        cells = " | ".join(cell(row.get(k), d) for k, _, d in COLUMNS)
        rows.append(f"| {path.parent.name} | {cells} |")
        telea = telea or report["methods"].get("telea")
    if telea:
        cells = " | ".join(cell(telea.get(k), d) for k, _, d in COLUMNS)
        rows.append(f"| (OpenCV Telea, same samples) | {cells} |")
    return "\n".join(rows)


def paired_steps(paths: list[Path]) -> str:
    """What each run adds over the one before it, as the mean per-sample difference on the same
    samples with a 95% interval: tighter than comparing two means whose intervals overlap."""
    import numpy as np

    reports = [(p.parent.name, json.loads(p.read_text())) for p in sorted(paths)]
    ids = reports[0][1]["sample_ids"]
    if any(r["sample_ids"] != ids for _, r in reports):
        raise SystemExit("paired differences need every run evaluated on the same samples")
    keys = [(k, t, d) for k, t, d in COLUMNS if k != "flicker"]  # flicker is per pair, not sample
    rows = ["| step | " + " | ".join(f"Δ {t}" for _, t, _ in keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for (a, ra), (b, rb) in zip(reports, reports[1:], strict=False):
        cells = []
        for key, _, digits in keys:
            x = np.array(ra["per_sample"]["model"][key], float)
            y = np.array(rb["per_sample"]["model"][key], float)
            diff = (y - x)[np.isfinite(y - x)]
            half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))
            cells.append(f"{diff.mean():+.{digits}f} ± {half:.{digits}f}")
        rows.append(f"| {a} → {b} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1] == "--ablation":
        print(ablation([Path(p) for p in sys.argv[2:]]))
        print()
        print(paired_steps([Path(p) for p in sys.argv[2:]]))
    else:
        print(table(json.loads(Path(sys.argv[1]).read_text())))
