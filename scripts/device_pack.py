"""Pack a prepared dataset small enough to travel to a GPU machine, and unpack it there.

The device machine (see docs/training.md, "On a GPU") gets only the working tree, at most 64 MiB
with what it carries, and has no MediaPipe and no ../shared. So the prepared crops travel as
JPEG (quality 92) or WebP (quality 88: under half the bytes, so the whole training set fits
with --per-person 0) with PNG masks, a per-person subset (every person, at most --per-person
samples each, spread over their footage: identity-balanced training draws people equally anyway),
plus the perceptual network's weights in float16. `unpack` rebuilds the prepared-dataset layout
that `mouthsynth train --data` reads.

    python scripts/device_pack.py pack data/shared .devpack \
        --vgg ../shared/weights/vgg16_features_imagenet.safetensors
    python3 scripts/device_pack.py unpack .devpack data/device      # on the device machine
"""

from __future__ import annotations

import argparse
import json
import zipfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ARRAYS = ("images", "masks", "outer_lip", "inner_lip")
ENCODING = {"jpg": [cv2.IMWRITE_JPEG_QUALITY, 92], "webp": [cv2.IMWRITE_WEBP_QUALITY, 88]}


def pack(args: argparse.Namespace) -> None:
    src, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = [json.loads(line) for line in (src / "manifest.jsonl").read_text().splitlines() if line.strip()]
    by_person: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for rec in records:
        if rec["split"] in ("train", "val"):
            by_person[(rec["split"], rec["identity"])].append(rec)
    picked: list[dict] = []
    for (split, _), recs in sorted(by_person.items()):
        cap = args.per_person if split == "train" else args.val_per_person
        cap = cap if cap > 0 else len(recs)  # 0: every sample
        n = min(cap, len(recs))
        # --phase 0.5 takes the frames halfway between phase 0's: a second pack of fresh footage.
        spacing = (len(recs) - 1) / max(n - 1, 1) if split == "train" and len(recs) > cap else 0.0
        take = (np.linspace(0, len(recs) - 1, n) + args.phase * spacing).round().astype(int) % len(recs)
        picked += [recs[i] for i in sorted(set(take.tolist()))]
    arrays: dict[str, dict[str, np.ndarray]] = {}
    lips: dict[str, list[np.ndarray]] = {"outer_lip": [], "inner_lip": []}
    with zipfile.ZipFile(out / "crops.zip", "w", zipfile.ZIP_STORED) as zf:
        for n, rec in enumerate(picked):
            group = rec["group"]
            if group not in arrays:
                folder = src / "crops" / group
                arrays[group] = {k: np.load(folder / f"{k}.npy", mmap_mode="r") for k in ARRAYS}
            a, i = arrays[group], rec["index"]
            ok, encoded = cv2.imencode(
                f".{args.format}", np.ascontiguousarray(a["images"][i][..., ::-1]), ENCODING[args.format]
            )
            ok2, png = cv2.imencode(".png", np.asarray(a["masks"][i]))
            assert ok and ok2
            zf.writestr(f"{n:06d}.{args.format}", encoded.tobytes())
            zf.writestr(f"{n:06d}.png", png.tobytes())
            for key in lips:
                lips[key].append(np.asarray(a[key][i]))
    # One array per contour for the whole pack: a file per sample cost 0.8 KB of zip overhead each.
    np.savez_compressed(out / "lips.npz", **{k: np.stack(v) for k, v in lips.items()})
    (out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in picked))
    (out / "dataset.json").write_text((src / "dataset.json").read_text())
    if args.vgg:
        from safetensors.torch import load_file, save_file

        from mouthsynth.nets.vgg import VGGFeatures, vgg_layout

        # Only the layers the perceptual loss runs (up to relu5_1): conv5_2/5_3 would be 9 MiB.
        weights = load_file(args.vgg)
        needed = set(VGGFeatures(vgg_layout(weights)).state_dict())
        tensors = {k: v.half() for k, v in weights.items() if k in needed}
        save_file(tensors, str(out / Path(args.vgg).name))
    if args.state:
        import shutil

        shutil.copytree(args.state, out / "state", dirs_exist_ok=True)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    splits = defaultdict(int)
    for r in picked:
        splits[r["split"]] += 1
    print(f"packed {len(picked)} samples ({dict(splits)}) into {out}: {total / 2**20:.1f} MiB")


def unpack(args: argparse.Namespace) -> None:
    pack_dir, out = Path(args.pack), Path(args.out)
    records = [
        json.loads(line) for line in (pack_dir / "manifest.jsonl").read_text().splitlines() if line.strip()
    ]
    # One group per (split, identity): the dataset reads a group's arrays with one open.
    groups: dict[str, list[int]] = defaultdict(list)
    for n, rec in enumerate(records):
        groups[f"{rec['split']}-{rec['identity']}"[:80]].append(n)
    manifest = []
    with np.load(pack_dir / "lips.npz") as stored:  # read each array once, not once per sample
        lips = {key: stored[key] for key in stored.files}
    with zipfile.ZipFile(pack_dir / "crops.zip") as zf:
        image_names = {
            int(name.split(".")[0]): name for name in zf.namelist() if name.endswith((".jpg", ".webp"))
        }
        for group, members in groups.items():
            data: dict[str, list[np.ndarray]] = {k: [] for k in ARRAYS}
            for n in members:
                encoded = np.frombuffer(zf.read(image_names[n]), np.uint8)
                data["images"].append(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])
                data["masks"].append(cv2.imdecode(np.frombuffer(zf.read(f"{n:06d}.png"), np.uint8), 0))
                data["outer_lip"].append(lips["outer_lip"][n])
                data["inner_lip"].append(lips["inner_lip"][n])
            folder = out / "crops" / group
            folder.mkdir(parents=True, exist_ok=True)
            for key, values in data.items():
                np.save(folder / f"{key}.npy", np.ascontiguousarray(np.stack(values)))
            for k, n in enumerate(members):
                manifest.append({**records[n], "group": group, "index": k})
    (out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in manifest))
    (out / "dataset.json").write_text((pack_dir / "dataset.json").read_text())
    print(f"unpacked {len(manifest)} samples in {len(groups)} groups into {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(required=True)
    p = sub.add_parser("pack")
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--per-person", type=int, default=30, help="0: every training sample")
    p.add_argument("--format", choices=sorted(ENCODING), default="jpg")
    p.add_argument("--val-per-person", type=int, default=8)
    p.add_argument("--phase", type=float, default=0.0, help="offset of the picked frames, in spacings")
    p.add_argument("--vgg", default="")
    p.add_argument("--state", default="", help="a training state to carry along (continue from it there)")
    p.set_defaults(func=pack)
    u = sub.add_parser("unpack")
    u.add_argument("pack")
    u.add_argument("out")
    u.set_defaults(func=unpack)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
