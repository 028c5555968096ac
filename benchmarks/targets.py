"""The model-quality targets, from `mouthsynth evaluate --json` files: model vs Telea on the same
samples, each person weighing the same, 95% intervals that resample people.

    python benchmarks/targets.py runs/eval/new_test.json [--before runs/eval/old_test.json]

Prints markdown for docs/results.md: crop level for video people, photo people and all; full
resolution on photos; the ratio of every figure to Telea's, and each target met or missed.
"""

from __future__ import annotations

import argparse
import json
import math

from mouthsynth.evaluation.people import paired_summary, person_summary

VIDEO = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")


def _subset(level: dict, keep) -> tuple[list[int], list[str]]:
    idx = [i for i, p in enumerate(level["sample_people"]) if keep(i, p)]
    return idx, [level["sample_people"][i] for i in idx]


def figures(level: dict, idx: list[int], people: list[str], metric: str) -> dict:
    model = [level["per_sample"]["model"][metric][i] for i in idx]
    telea = [level["per_sample"]["telea"][metric][i] for i in idx]
    m, t = person_summary(model, people), person_summary(telea, people)
    diff = paired_summary(model, telea, people)
    return {"model": m, "telea": t, "diff": diff, "ratio": m["mean"] / t["mean"] if t["mean"] else math.nan}


def video_people(report: dict) -> set[str]:
    crop = report
    ids = crop.get("sample_ids", [])
    # Crop samples carry their group's source in the dataset; a video source has frames > 0 somewhere.
    people_frames: dict[str, set] = {}
    for sid, person in zip(ids, crop["sample_people"], strict=True):
        people_frames.setdefault(person, set()).add(sid.split("/")[1] if "/" in sid else "0")
    return {p for p, frames in people_frames.items() if len(frames) > 1}


def fmt(s: dict, digits: int = 3) -> str:
    return f"{s['mean']:.{digits}f} [{s['ci95_low']:.{digits}f}, {s['ci95_high']:.{digits}f}]"


def rows(report: dict) -> list[tuple[str, str, dict]]:
    out = []
    videos = video_people(report)
    for name, keep in (
        ("crop, video people", lambda i, p: p in videos),
        ("crop, photo people", lambda i, p: p not in videos),
        ("crop, all people", lambda i, p: True),
    ):
        idx, people = _subset(report, keep)
        if idx:
            for metric in ("l1", "ssim", "lpips", "sharpness"):
                out.append((name, metric, figures(report, idx, people, metric)))
    full = report.get("full")
    if full and full.get("sample_people"):
        idx, people = _subset(full, lambda i, p: True)
        for metric in ("l1", "ssim", "lpips", "sharpness"):
            out.append(("full resolution, photos", metric, figures(full, idx, people, metric)))
    return out


TARGETS = {
    ("crop", "l1"): ("ratio", 0.75, "L1 at most 0.75x Telea's"),
    ("crop", "ssim"): ("above", None, "SSIM above Telea's"),
    ("crop", "lpips"): ("ratio", 0.6, "LPIPS at most 0.6x Telea's"),
    ("full", "l1"): ("ratio", 0.8, "L1 at most 0.8x Telea's"),
    ("full", "sharpness"): ("min", 0.5, "sharpness ratio at least 0.5"),
}


def verdict(level: str, metric: str, f: dict) -> str:
    key = ("full" if level.startswith("full") else "crop", metric)
    if key not in TARGETS:
        return ""
    kind, value, text = TARGETS[key]
    if kind == "ratio":
        ratio = f["ratio"]
        return f"{text}: " + ("**met**" if ratio <= value else f"missed ({ratio:.2f}x)")
    if kind == "above":
        ok = f["diff"]["ci95_low"] > 0
        return f"{text}: {'**met**' if ok else 'missed'} (difference {f['diff']['mean']:+.4f})"
    mean = f["model"]["mean"]
    return f"{text}: " + ("**met**" if mean >= value else f"missed ({mean:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("--before", help="the same evaluation of the previous model")
    ap.add_argument("--digits", type=int, default=2, help="decimals of the ratios (3 to compare arms)")
    args = ap.parse_args()
    now = rows(json.load(open(args.report)))
    before = {(a, b): f for a, b, f in rows(json.load(open(args.before)))} if args.before else {}
    head = "| samples | metric | model | Telea | model / Telea | model − Telea (paired) |"
    if before:
        head += " previous model / Telea |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for level, metric, f in now:
        line = (
            f"| {level} | {metric} | {fmt(f['model'])} | {fmt(f['telea'])} | {f['ratio']:.{args.digits}f}x | "
            f"{f['diff']['mean']:+.4f} [{f['diff']['ci95_low']:+.4f}, {f['diff']['ci95_high']:+.4f}] |"
        )
        if before:
            old = before.get((level, metric))
            line += f" {old['ratio']:.{args.digits}f}x |" if old else " |"
        print(line)
    print()
    for level, metric, f in now:
        text = verdict(level, metric, f)
        if text:
            print(f"- {level}: {text}")


if __name__ == "__main__":
    main()
