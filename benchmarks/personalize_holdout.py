"""Personalised models, measured honestly: fit on the first 60% of a validation speaker's footage
(by time), score on the last 40%, never on a frame the fit saw.

For each validation speaker with video (the ``val`` split of a prepared dataset's
``sources.jsonl``), the speaker's clips are put end to end in name order and cut at 60% of their
frames; each clip's part before the cut is a fitting video, its part after it a held-out video
(re-encoded at CRF 12, so flicker pairs never straddle a cut or a clip boundary). ``mouthsynth
personalize`` runs on the fitting videos (its whole budget: preparation, fit, export), then the
held-out videos are prepared once and the personalised model, the default model and OpenCV Telea
fill the same crops (``evaluation.evaluate``): L1, SSIM, LPIPS, sharpness, flicker.

    MOUTHSYNTH_WEIGHTS_DIR=../shared/weights python benchmarks/personalize_holdout.py data/shared \
        --out runs/personalize --json docs/data/personalize_holdout.json \
        --grid docs/img/personalize_holdout.png

``--speakers`` picks some (default: all with video); ``--set KEY=VALUE`` and ``--minutes`` /
``--steps`` change the recipe (used to choose it); held-out cuts and the default model's scores
are kept in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

FIT_SHARE = 0.6
METRICS = ("l1", "ssim", "lpips", "sharpness", "flicker")


def speakers_with_video(dataset: Path, split: str = "val") -> dict[str, list[Path]]:
    from mouthsynth.io.images import is_video

    out: dict[str, list[Path]] = {}
    for line in (dataset / "sources.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        src = Path(rec["source"])
        if rec["split"] == split and is_video(src):
            if not src.is_absolute() and not src.exists():
                src = (dataset / src).resolve() if (dataset / src).exists() else src
            out.setdefault(rec["identity"], []).append(src)
    return {k: sorted(v, key=lambda p: p.name) for k, v in sorted(out.items())}


def cut_footage(clips: list[Path], folder: Path, share: float = FIT_SHARE) -> tuple[list[Path], list[Path]]:
    """Write each clip's part before the cut (at ``share`` of all the clips' frames, end to end)
    and after it as separate videos; returns (fitting videos, held-out videos)."""
    from mouthsynth.io.video import VideoReader, VideoWriter

    done = folder / "cut.json"
    if done.is_file():
        info = json.loads(done.read_text())
        return [Path(p) for p in info["fit"]], [Path(p) for p in info["holdout"]]
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for clip in clips:
        with VideoReader(clip) as reader:
            frames.append(sum(1 for _ in reader))
    cut = round(share * sum(frames))
    fit, holdout, start = [], [], 0
    for clip, n in zip(clips, frames, strict=True):
        local = min(max(cut - start, 0), n)  # frames of this clip before the cut
        start += n
        parts = [("fit", 0, local), ("holdout", local, n)]
        with VideoReader(clip) as reader:
            writers = {}
            for name, a, b in parts:
                if b - a >= 2:
                    path = folder / name / f"{clip.stem}_{a:05d}-{b:05d}.mp4"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writers[name] = (a, b, VideoWriter(path, reader.fps, reader.width, reader.height,
                                                       overwrite=True, crf=12))  # fmt: skip
                    (fit if name == "fit" else holdout).append(path)
            for i, frame in enumerate(reader):
                for a, b, w in writers.values():
                    if a <= i < b:
                        w.write(frame)
            for _, _, w in writers.values():
                w.close()
    done.write_text(json.dumps({"fit": [str(p) for p in fit], "holdout": [str(p) for p in holdout],
                                "frames": frames, "cut": cut}))  # fmt: skip
    return fit, holdout


def prepared_holdout(videos: list[Path], folder: Path) -> Path:
    from mouthsynth.config import load_config
    from mouthsynth.data.prepare import prepare

    if not (folder / "sources.jsonl").is_file() or len(
        (folder / "sources.jsonl").read_text().splitlines()
    ) < len(videos):
        prepare(videos, folder, load_config(), progress=False)
    return folder


def scores(evaluation, method: str) -> dict[str, float]:
    summary = evaluation.summary()[method]
    return {m: float(summary[m]["mean"]) for m in METRICS if m in summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="prepared dataset with sources.jsonl (e.g. data/shared)")
    parser.add_argument("--out", type=Path, default=Path("runs/personalize"))
    parser.add_argument("--speakers", default="", help="comma-separated identities (default: all with video)")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--tag", default="default", help="name of this recipe's results in --out")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--grid", type=Path, default=None)
    args = parser.parse_args(argv)

    from mouthsynth.errors import MouthSynthError
    from mouthsynth.evaluation.evaluate import evaluate
    from mouthsynth.training.personalize import personalize

    speakers = speakers_with_video(args.dataset)
    if args.speakers:
        wanted = [s.strip() for s in args.speakers.split(",") if s.strip()]
        missing = [s for s in wanted if s not in speakers]
        if missing:
            parser.error(f"no video of {missing} in the val split (have {sorted(speakers)})")
        speakers = {s: speakers[s] for s in wanted}
    rows, grid_rows, skipped = {}, [], {}
    for name, clips in speakers.items():
        work = args.out / name
        fit, holdout = cut_footage(clips, work / "cut")
        print(f"{name}: {len(fit)} fitting and {len(holdout)} held-out videos", file=sys.stderr)
        model = work / args.tag / "person.onnx"
        t0 = time.perf_counter()
        try:
            result = personalize(
                fit, model, args.minutes, args.steps, overwrite=True, overrides=args.overrides,
                progress=sys.stderr.isatty(),
            )  # fmt: skip
        except MouthSynthError as exc:
            # Footage the product refuses (e.g. too few open-mouth frames in the fitting part) is
            # reported as such, not scored, and the other speakers still run.
            skipped[name] = str(exc)
            print(f"{name}: not personalised: {exc}", file=sys.stderr, flush=True)
            continue
        wall = time.perf_counter() - t0
        root = prepared_holdout(holdout, work / "holdout_data")
        ev = evaluate([root], model, ["telea"], None, None, blends=("alpha",))
        ev_default = evaluate([root], None, [], None, None, blends=("alpha",))
        default = scores(ev_default, "model")
        row = {
            "fit_videos": [str(p) for p in fit],
            "holdout_videos": [str(p) for p in holdout],
            "holdout_samples": len(ev.samples),
            "frames_used": result.frames,
            "steps": result.steps,
            "fit_seconds": round(result.fit_seconds, 1),
            "wall_seconds": round(wall, 1),
            "personal": scores(ev, "model"),
            "default": default,
            "telea": scores(ev, "telea"),
            "recipe": args.overrides,
        }
        row["ratios"] = {
            "l1_vs_telea": row["personal"]["l1"] / row["telea"]["l1"],
            "l1_vs_default": row["personal"]["l1"] / row["default"]["l1"],
            "flicker_vs_telea": row["personal"].get("flicker", math.nan)
            / row["telea"].get("flicker", math.nan),
        }
        rows[name] = row
        print(json.dumps({name: {k: row[k] for k in ("steps", "fit_seconds", "personal", "default", "telea",
                                                       "ratios")}}), flush=True)  # fmt: skip
        if args.grid is not None:
            picks = np.linspace(0, len(ev.samples) - 1, min(2, len(ev.samples))).round().astype(int)
            for i in sorted(set(picks.tolist())):
                grid_rows.append(
                    {
                        "white-filled": ev.outputs_white(i),
                        "Telea": ev.outputs["telea"][i],
                        "default model": ev_default.outputs["model"][i],
                        "personalised": ev.outputs["model"][i],
                        "truth": ev.samples[i].image,
                    }
                )
        (args.out / f"results_{args.tag}.json").write_text(json.dumps(rows, indent=1))
    mean = {
        method: {m: float(np.mean([r[method][m] for r in rows.values() if m in r[method]])) for m in METRICS}
        for method in ("personal", "default", "telea")
    }
    report = {
        "protocol": f"fit on the first {FIT_SHARE:.0%} of each speaker's footage by time, scored on the rest",
        "minutes": args.minutes,
        "steps": args.steps,
        "recipe": args.overrides,
        "speakers": rows,
        "not_personalised": skipped,
        "mean_over_speakers": mean,
        "ratios_of_means": {
            "l1_vs_telea": mean["personal"]["l1"] / mean["telea"]["l1"],
            "l1_vs_default": mean["personal"]["l1"] / mean["default"]["l1"],
            "flicker_vs_telea": mean["personal"]["flicker"] / mean["telea"]["flicker"],
        },
    }
    print(json.dumps({"mean": mean, "ratios": report["ratios_of_means"]}, indent=1))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if args.grid is not None and grid_rows:
        from mouthsynth.evaluation.report import make_grid

        make_grid(grid_rows, ["white-filled", "Telea", "default model", "personalised", "truth"], args.grid,
                  overwrite=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
