"""Where a CPU training step goes, and what each speed-up buys.

Builds the trainer of ``configs/train_default.yaml`` on a prepared dataset, then times full GAN
steps (adversarial terms on) under a ladder of settings, each against the first (naive) one in
the same process: the machine's noise hits every variant alike. Data waiting (time blocked on the
loader) is reported apart from compute.

Usage: python benchmarks/train_step.py DATASET [--steps 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from mouthsynth.config import load_config
from mouthsynth.training.trainer import Trainer

# Each rung adds one change to the one before it; the last rung is the shipped training config.
LADDER: list[tuple[str, list[str]]] = [
    (
        "naive: loader in the main process, VGG on the global crop",
        [
            "train.num_workers=0",
            "losses.perceptual_crop=global",
            "train.channels_last=false",
            "train.amp=false",
        ],
    ),
    ("+ one loader worker process", ["train.num_workers=1"]),
    ("+ VGG on the tight local crop (1/4 of the pixels)", ["losses.perceptual_crop=local"]),
    ("+ channels-last tensors", ["train.channels_last=true"]),
    ("+ bf16 autocast (AVX512-BF16 / AMX CPUs)", ["train.amp=true"]),
]


def time_steps(trainer: Trainer, steps: int, warmup: int = 2) -> dict[str, float]:
    loader = iter(trainer._loader())
    for _ in range(warmup):
        trainer.train_step(next(loader))
    wait = compute = 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(loader)
        t1 = time.perf_counter()
        trainer.train_step(batch)
        t2 = time.perf_counter()
        wait += t1 - t0
        compute += t2 - t1
    return {"step_s": (wait + compute) / steps, "data_wait_s": wait / steps, "compute_s": compute / steps}


def breakdown(trainer: Trainer, steps: int) -> dict[str, float]:
    """Seconds per step in each named stage of one full step (forward + backward of each)."""
    loader = iter(trainer._loader())
    names = ("generator forward", "discriminator step", "generator losses", "generator backward")
    parts = dict.fromkeys(names, 0.0)
    for _ in range(steps + 1):
        batch = {k: v for k, v in next(loader).items()}
        t = [time.perf_counter()]
        batch = trainer.generate(batch)
        t.append(time.perf_counter())
        trainer.discriminator_step(batch)
        t.append(time.perf_counter())
        terms = trainer.generator_losses(batch)
        t.append(time.perf_counter())
        total = sum(getattr(trainer.cfg.losses, k) * v for k, v in terms.items())
        trainer.opt_G.zero_grad(set_to_none=True)
        total.backward()
        trainer.opt_G.step()
        t.append(time.perf_counter())
        if _ == 0:
            continue  # warm-up
        for name, a, b in zip(names, t[:-1], t[1:], strict=True):
            parts[name] += (b - a) / steps
    return parts


def report(rows: list[dict]) -> None:
    row, base = rows[-1], rows[0]["step_s"]
    print(
        f"{row['variant']:55s} {row['step_s']:.2f} s/step ({row['step_s'] / base:.2f}x naive; "
        f"data wait {row['data_wait_s']:.2f} s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--config", type=Path, default=Path("configs/train_default.yaml"))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--compile", action="store_true", help="one more rung: torch.compile the generator")
    args = parser.parse_args()
    os.environ.setdefault("MOUTHSYNTH_WEIGHTS_DIR", "../shared/weights")

    rows = []
    overrides: list[str] = ["train.warmup_steps=0"]  # time the full GAN step
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, change) in enumerate(LADDER):
            overrides = overrides + change
            cfg = load_config(args.config, overrides)
            torch.manual_seed(0)
            trainer = Trainer(cfg, args.dataset, Path(tmp) / f"run{i}", progress=False)
            row = {"variant": name, **time_steps(trainer, args.steps)}
            if i == len(LADDER) - 1:
                row["breakdown"] = breakdown(trainer, args.steps)
            rows.append(row)
            report(rows)
            if i == len(LADDER) - 1 and args.compile:
                trainer.G_train = torch.compile(trainer.G)
                time_steps(trainer, 1, warmup=2)  # compilation happens here, not in the timing
                rows.append({"variant": "+ torch.compile(generator)", **time_steps(trainer, args.steps)})
                report(rows)
            trainer.close()
    breakdown_row = next(r for r in rows if "breakdown" in r)
    for part, seconds in breakdown_row["breakdown"].items():
        print(f"  {part:22s} {seconds:.2f} s ({seconds / breakdown_row['compute_s']:.0%} of compute)")
    meta = {"torch": torch.__version__, "threads": torch.get_num_threads(), "steps": args.steps}
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
