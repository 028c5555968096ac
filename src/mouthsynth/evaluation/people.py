"""Means over people, not frames: a person with 300 video frames counts as much as a person
with one photo, and the uncertainty comes from which people were drawn, not which frames.

``person_summary`` gives the mean of per-person means and a 95% percentile bootstrap interval
that resamples people (with replacement, each drawn person bringing all their samples);
``paired_summary`` does the same for a per-sample difference between two methods (e.g. model
minus Telea), and ``person_table`` lists each person's own means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0  # a fixed seed: the same data gives the same interval on every run


def per_person_means(values: Sequence[float], people: Sequence[str]) -> dict[str, tuple[float, int]]:
    """Person -> (mean of their finite values, how many), in first-seen order. People whose
    every value is undefined (nan) are left out."""
    if len(values) != len(people):
        raise ValueError(f"{len(values)} values but {len(people)} people")
    sums: dict[str, list[float]] = {}
    for value, person in zip(values, people, strict=True):
        if value is not None and math.isfinite(value):
            sums.setdefault(person, []).append(float(value))
    return {p: (float(np.mean(v)), len(v)) for p, v in sums.items()}


def bootstrap_people(
    person_means: Sequence[float], draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95% percentile interval of the mean of per-person means, people resampled with
    replacement. One person, or people who all agree, give an interval of zero width."""
    means = np.asarray(person_means, np.float64)
    if means.size == 0:
        return math.nan, math.nan
    if means.size == 1 or np.all(means == means[0]):
        return float(means[0]), float(means[0])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, means.size, size=(draws, means.size))
    resampled = means[picks].mean(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    centre = float(means.mean())
    return min(float(low), centre), max(float(high), centre)


def person_summary(values: Sequence[float], people: Sequence[str], **bootstrap) -> dict[str, float | int]:
    """``mean`` (each person weighs the same), ``ci95_low``/``ci95_high`` (people bootstrapped),
    ``n`` finite samples, ``dropped`` undefined ones, ``people``, and ``sample_mean``: the plain
    mean over samples, for comparison with frame-weighted figures."""
    data = np.asarray([math.nan if v is None else v for v in values], np.float64)
    finite = np.isfinite(data)
    means = per_person_means(list(data), list(people))
    summary: dict[str, float | int] = {
        "n": int(finite.sum()),
        "dropped": int(data.size - finite.sum()),
        "people": len(means),
    }
    if not means:
        return {
            "mean": math.nan,
            "ci95_low": math.nan,
            "ci95_high": math.nan,
            "sample_mean": math.nan,
            **summary,
        }
    person_values = [m for m, _ in means.values()]
    low, high = bootstrap_people(person_values, **bootstrap)
    return {
        "mean": float(np.mean(person_values)),
        "ci95_low": low,
        "ci95_high": high,
        "sample_mean": float(data[finite].mean()),
        **summary,
    }


def paired_summary(
    a: Sequence[float], b: Sequence[float], people: Sequence[str], **bootstrap
) -> dict[str, float | int]:
    """``a - b`` per sample (both defined), summarised over people as ``person_summary`` does.
    An interval that excludes 0 says the two methods differ for these people."""
    if not len(a) == len(b) == len(people):
        raise ValueError(f"paired values: {len(a)}, {len(b)} and {len(people)} people")
    diff = [
        x - y if x is not None and y is not None and math.isfinite(x) and math.isfinite(y) else math.nan
        for x, y in zip(a, b, strict=True)
    ]
    return person_summary(diff, people, **bootstrap)


def person_table(
    per_sample: Mapping[str, Mapping[str, Sequence[float]]],
    people: Sequence[str],
    metric: str = "l1",
    methods: Sequence[str] = ("model", "telea"),
) -> list[dict]:
    """One row per person: ``person``, ``n`` samples, each method's mean ``metric`` and, with
    two methods, their ratio (first / second), sorted by person."""
    rows = []
    columns = [m for m in methods if m in per_sample and metric in per_sample[m]]
    means = {m: per_person_means(per_sample[m][metric], people) for m in columns}
    for person in sorted(set(people)):
        row: dict = {"person": person, "n": sum(1 for p in people if p == person)}
        for m in columns:
            row[m] = means[m].get(person, (math.nan, 0))[0]
        if len(columns) == 2:
            first, second = row[columns[0]], row[columns[1]]
            row["ratio"] = (
                first / second if math.isfinite(first) and math.isfinite(second) and second else math.nan
            )
        rows.append(row)
    return rows


def method_summaries(
    methods: Sequence[str],
    per_sample: Mapping[str, Mapping[str, Sequence[float]]],
    people: Sequence[str],
    flicker: Mapping[str, Sequence[float]] | None = None,
    flicker_people: Sequence[str] = (),
) -> dict[str, dict[str, dict]]:
    """Per method and metric: ``person_summary``; flicker (one value per frame pair) is
    summarised over the pairs' people."""
    table: dict[str, dict[str, dict]] = {}
    for method in methods:
        row = {name: person_summary(values, people) for name, values in per_sample.get(method, {}).items()}
        if flicker and flicker.get(method):
            row["flicker"] = person_summary(flicker[method], flicker_people)
        table[method] = row
    return table


def method_differences(
    per_sample: Mapping[str, Mapping[str, Sequence[float]]],
    people: Sequence[str],
    pairs: Sequence[tuple[str, str]] = (("model", "telea"),),
    flicker: Mapping[str, Sequence[float]] | None = None,
    flicker_people: Sequence[str] = (),
) -> dict[str, dict]:
    """``a - b`` per sample for each pair both methods of which were scored, every metric both
    have (and flicker per frame pair), summarised over people; keyed ``"a-b"``."""
    out: dict[str, dict] = {}
    for a, b in pairs:
        if a not in per_sample or b not in per_sample:
            continue
        shared = [k for k in per_sample[a] if k in per_sample[b]]
        row = {k: paired_summary(per_sample[a][k], per_sample[b][k], people) for k in shared}
        if flicker and flicker.get(a) and flicker.get(b):
            row["flicker"] = paired_summary(flicker[a], flicker[b], flicker_people)
        out[f"{a}-{b}"] = row
    return out


def scores_report(
    methods: Sequence[str],
    per_sample: Mapping[str, Mapping[str, Sequence[float]]],
    people: Sequence[str],
    pairs: Sequence[tuple[str, str]] = (("model", "telea"),),
    flicker: Mapping[str, Sequence[float]] | None = None,
    flicker_people: Sequence[str] = (),
) -> dict:
    """The part of every evaluation level's JSON that is about scores: per-sample people, the
    people-weighted means, the paired differences, the per-person table and the raw values."""
    out = {
        "people": len(set(people)),
        "sample_people": list(people),
        "methods": method_summaries(methods, per_sample, people, flicker, flicker_people),
        "paired": method_differences(per_sample, people, pairs, flicker, flicker_people),
        "per_person": person_table(per_sample, people),
        "per_sample": per_sample,
    }
    if flicker is not None:
        out["flicker_per_pair"] = flicker
        out["flicker_people"] = list(flicker_people)
    return out
