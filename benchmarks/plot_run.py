"""Plot a training run's curves (losses and validation metrics) from its metrics.jsonl.

Usage: python benchmarks/plot_run.py RUN_DIR|METRICS.jsonl OUT.png
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(run: Path, out: Path) -> None:
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    record = run if run.suffix == ".jsonl" else run / "metrics.jsonl"
    for line in record.read_text().splitlines():
        row = json.loads(line)
        for key, value in row.items():
            if key != "step" and not key.startswith(("lr/", "speed/")):
                series[key].append((row["step"], value))
    groups = [
        ("generator losses", [k for k in series if k.startswith("g/") and k != "g/total"]),
        ("discriminator losses", [k for k in series if k.startswith("d/")]),
        ("validation masked L1 (EMA generator)", [k for k in series if k == "val/l1"]),
        ("validation PSNR in the mask, dB", [k for k in series if k == "val/psnr"]),
    ]
    groups = [(title, keys) for title, keys in groups if keys]  # a record may hold only some series
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4.5), squeeze=False)
    for ax, (title, keys) in zip(axes[0], groups, strict=True):
        for key in sorted(keys):
            steps, values = zip(*series[key], strict=True)
            ax.plot(steps, values, label=key, marker="o" if key.startswith("val/") else None, markersize=3)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
