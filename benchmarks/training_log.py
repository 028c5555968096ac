"""The default model's cumulative training log: one entry per continuation, and its curves.

The shipped model is trained in continuations (each session continues the committed state with
`mouthsynth train --init-from`), so its history lives in docs/data/training_log.jsonl, not in any
one run folder. Each entry: the steps it covered, its wall time, the hardware, the config
overrides, its validation metrics at every validation step, and whether it was exported.

    python benchmarks/training_log.py append runs/cont1 --hardware "2 CPU cores (AMD EPYC), no GPU" \
        --note "..." [--exported]
    python benchmarks/training_log.py plot docs/img/curves_default_val.png
    python benchmarks/training_log.py table
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

LOG = Path(__file__).resolve().parents[1] / "docs" / "data" / "training_log.jsonl"


def read_log(path: Path = LOG) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )


def summarize_run(run: Path) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    train = [r for r in rows if "g/total" in r]
    val = [{k: v for k, v in r.items() if k == "step" or k.startswith("val/")} for r in rows if "val/l1" in r]
    # Wall time: steps run over the logged speed (steps/s at each log line, cumulative since start).
    # A continuation first validates the state it starts from, at its starting step.
    first = min([r["step"] for r in val] + [train[0]["step"] - 1])
    last = train[-1]["step"]
    speed = train[-1].get("speed/steps_per_s")
    info = json.loads((run / "run.json").read_text()) if (run / "run.json").is_file() else {}
    best = run / "checkpoints" / "best" / "best.json"
    return {
        "from_step": first,
        "to_step": last,
        "wall_minutes": round((last - first) / speed / 60, 1) if speed else None,
        "train_samples": info.get("train_samples"),
        "val_samples": info.get("val_samples"),
        "perceptual": info.get("perceptual_net"),
        "val": val,
        "best": json.loads(best.read_text()) if best.is_file() else None,
    }


def append(args: argparse.Namespace) -> None:
    entry = {
        "continuation": len(read_log()) + 1,
        "date": date.today().isoformat(),
        "run": str(args.run),
        "hardware": args.hardware,
        "config": args.config,
        "note": args.note,
        "val_set": args.val_set,
        "exported": args.exported,
        **summarize_run(Path(args.run)),
    }
    with open(LOG, "a") as fh:
        fh.write(json.dumps(entry) + "\n")
    print(f"appended continuation {entry['continuation']}: steps {entry['from_step']}-{entry['to_step']}")


def plot(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    # One colour per figure (the mean and each crop side), the same in every continuation, so the
    # legend stays four lines however long the log grows; the dotted lines mark each start.
    colours = {
        "val/l1": "black",
        "val/l1_128": "tab:blue",
        "val/l1_192": "tab:orange",
        "val/l1_256": "tab:green",
    }
    labelled: set[str] = set()
    for entry in read_log():
        for key, colour in colours.items():
            points = [(r["step"], r[key]) for r in entry["val"] if key in r]
            if not points:
                continue
            steps, values = zip(*points, strict=True)
            label = None if key in labelled else ("mean over sides" if key == "val/l1" else key[-3:] + " px")
            labelled.add(key)
            width = 1.5 if key == "val/l1" else 0.9
            ax.plot(steps, values, marker="o", markersize=2.5, color=colour, lw=width, label=label)
        measured = entry.get("val_measured_bn") or []
        if measured:
            label = None if "bn" in labelled else "mean, EMA's own BatchNorm statistics"
            labelled.add("bn")
            ax.plot(
                [r["step"] for r in measured],
                [r["val/l1"] for r in measured],
                marker="*",
                markersize=10,
                ls="--",
                color="tab:red",
                label=label,
            )
        ax.axvline(entry["from_step"], color="grey", lw=0.5, ls=":")
    ax.set_xlabel("cumulative training step")
    ax.set_ylabel("validation masked L1 (EMA G)")
    ax.set_title("default model, every continuation (dotted: where each one started)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


def table(_: argparse.Namespace) -> None:
    print("| # | date | steps | wall time | hardware | val L1 at start -> best | exported |")
    print("|---|---|---|---|---|---|---|")
    for e in read_log():
        start = e["val"][0]["val/l1"] if e["val"] else float("nan")
        best = (
            e["best"]["value"]
            if e.get("best")
            else min((r["val/l1"] for r in e["val"]), default=float("nan"))
        )
        wall = f"{e['wall_minutes']:.0f} min" if e.get("wall_minutes") else "?"
        val = f"{start:.4f} -> {best:.4f}"
        if e.get("val_measured_bn"):  # the figures that do not depend on the last batches' BN draw
            measured = e["val_measured_bn"]
            val += f"; measured BN: {measured[0]['val/l1']:.4f} -> {measured[-1]['val/l1']:.4f}"
        print(
            f"| {e['continuation']} | {e['date']} | {e['from_step']:,}-{e['to_step']:,} | {wall} | "
            f"{e['hardware']} | {val} | {'yes' if e['exported'] else 'no'} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(required=True)
    a = sub.add_parser("append")
    a.add_argument("run", type=Path)
    a.add_argument("--hardware", required=True)
    a.add_argument("--config", default="configs/train_default.yaml")
    a.add_argument("--note", default="")
    a.add_argument("--exported", action="store_true")
    a.add_argument("--val-set", default="", help="which validation people the figures are on")
    a.set_defaults(func=append)
    p = sub.add_parser("plot")
    p.add_argument("out", type=Path)
    p.set_defaults(func=plot)
    t = sub.add_parser("table")
    t.set_defaults(func=table)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
