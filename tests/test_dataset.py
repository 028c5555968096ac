"""The training dataset: item layout, augmentation, determinism."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from mouthsynth.config import DataConfig
from mouthsynth.data.augment import mirror_contour, resize_matrix, video_like
from mouthsynth.data.dataset import MouthDataset, read_manifest
from mouthsynth.geometry import mouth_open
from mouthsynth.geometry.crops import warp_to_crop
from mouthsynth.geometry.mouth import binarize
from mouthsynth.io.images import is_video


def test_items_have_the_batch_dict_layout(tiny_dataset):
    ds = MouthDataset(tiny_dataset, "train", size=64, train=True)
    item = ds[0]
    assert item["image"].shape == (3, 64, 64) and item["input"].shape == (4, 64, 64)
    assert item["mask"].shape == item["boundary"].shape == (1, 64, 64)
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0} and item["mask"].sum() > 0
    # White inside the mask, the real image outside it.
    inside = item["mask"].expand(3, -1, -1) > 0
    assert torch.all(item["input"][:3][inside] == 1)
    assert torch.equal(item["input"][:3][~inside], item["image"][~inside])
    assert torch.equal(item["input"][3:], item["mask"])
    x0, y0, x1, y1 = item["local_box"].tolist()
    assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64 and x1 - x0 == y1 - y0
    ys, xs = torch.nonzero(item["mask"][0], as_tuple=True)
    assert x0 <= xs.float().mean() <= x1 and y0 <= ys.float().mean() <= y1


def test_augmentation_is_deterministic_under_a_seed_and_varies_by_epoch(tiny_dataset):
    a = MouthDataset(tiny_dataset, "train", size=64, train=True, seed=3)
    b = MouthDataset(tiny_dataset, "train", size=64, train=True, seed=3)
    assert torch.equal(a[2]["input"], b[2]["input"])
    b.set_epoch(1)
    assert not torch.equal(a[2]["input"], b[2]["input"])
    val = MouthDataset(tiny_dataset, "val", size=64, train=False)
    assert torch.equal(val[0]["input"], val[0]["input"])


def test_mirrored_contour_keeps_the_convention():
    n = 20
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    contour = np.stack([50 - 20 * np.cos(t), 40 - 8 * np.sin(t) - 2 * np.cos(t)], 1).astype(np.float32)
    flipped = mirror_contour(contour, 100)
    assert np.argmin(flipped[:, 0]) in (0, n // 2) and np.argmax(flipped[:, 0]) in (0, n // 2)
    assert np.all(flipped[1 : n // 2, 1] <= flipped[n - 1 : n // 2 : -1, 1])  # upper lip still first
    assert (
        mouth_open(flipped) == np.float32(mouth_open(contour))
        or abs(mouth_open(flipped) - mouth_open(contour)) < 1e-5
    )
    assert np.allclose(mirror_contour(flipped, 100), contour)


def test_flip_mirrors_image_mask_and_box_together(tiny_dataset):
    cfg = DataConfig(flip=True, scale_jitter=0, rotate_deg=0, translate=0, color_jitter=0, mask_dilate_max=0)
    ds = MouthDataset(tiny_dataset, "train", size=64, data_cfg=cfg, train=True)
    plain = MouthDataset(tiny_dataset, "train", size=64, train=False)
    for epoch in range(6):
        ds.set_epoch(epoch)
        item, ref = ds[1], plain[1]
        if torch.equal(item["image"], ref["image"]):
            continue  # this draw did not flip
        assert torch.equal(item["image"], ref["image"].flip(-1))
        assert torch.equal(item["mask"], ref["mask"].flip(-1))
        x0, _, x1, _ = ref["local_box"].tolist()
        fx0, _, fx1, _ = item["local_box"].tolist()
        assert abs((64 - x1) - fx0) <= 1 and abs((64 - x0) - fx1) <= 1
        return
    raise AssertionError("no flip in six epochs")


def test_train_and_val_never_share_an_identity(tiny_dataset):
    train = MouthDataset(tiny_dataset, "train", size=64, train=True)
    val = MouthDataset(tiny_dataset, "val", size=64, train=False)
    assert len(train) and len(val)
    assert len(train) + len(val) == len(read_manifest(tiny_dataset))
    assert not {r["identity"] for r in train.records} & {r["identity"] for r in val.records}
    assert train[0]["id"] == train.records[0]["id"]


def _uint8(item_image: torch.Tensor) -> np.ndarray:
    return ((item_image.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)


def test_val_items_are_the_inference_resampling(tiny_dataset):
    val = MouthDataset(tiny_dataset, "val", size=64, train=False)
    image, mask, _ = val.raw(3)
    matrix = resize_matrix(image.shape[0], 64)
    assert np.array_equal(_uint8(val[3]["image"]), warp_to_crop(image, matrix, 64))
    assert np.array_equal(val[3]["mask"][0].numpy(), binarize(warp_to_crop(mask, matrix, 64)))
    # The boundary band hugs the final mask's edge: strong there, nothing far from it.
    item = val[3]
    m, band = item["mask"][0].numpy(), item["boundary"][0].numpy()
    edge = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    assert band[edge].mean() > 0.5
    far = cv2.dilate(m.astype(np.uint8), np.ones((25, 25), np.uint8)) == 0
    assert far.any() and band[far].max() == 0


def test_training_crops_match_inference_crops_without_jitter(tiny_dataset):
    """Issue: training must see what inference sees. With the jitter off, a training item is the
    val item (one resampling by the inference resampler), and the mask is never dilated."""
    still = DataConfig(flip=False, scale_jitter=0, rotate_deg=0, translate=0, color_jitter=0)
    train = MouthDataset(tiny_dataset, "train", size=64, data_cfg=still, train=True)
    plain = MouthDataset(tiny_dataset, "train", size=64, train=False)
    for i in range(3):
        assert torch.equal(train[i]["image"], plain[i]["image"])
        assert torch.equal(train[i]["mask"], plain[i]["mask"])
    # With the default jitter the mask area only changes by the scale jitter, never by dilation.
    jittered = MouthDataset(tiny_dataset, "train", size=64, train=True)
    for epoch in range(4):
        jittered.set_epoch(epoch)
        ratio = jittered[0]["mask"].sum() / plain[0]["mask"].sum()
        assert 0.75 < ratio < 1.3


def test_items_at_another_side_keep_the_geometry(tiny_dataset):
    val = MouthDataset(tiny_dataset, "val", size=64, train=False)
    small, big = val[0], val[(0, 128)]
    assert big["image"].shape == (3, 128, 128) and big["mask"].shape == (1, 128, 128)
    assert abs(big["mask"].mean() - small["mask"].mean()) < 0.02  # same share of the crop
    assert np.allclose(np.array(big["local_box"].tolist()), 2 * np.array(small["local_box"].tolist()), atol=2)


def test_pair_items_add_the_next_frames_view_of_the_same_mouth(tiny_dataset):
    import torch.nn.functional as F

    # A larger move than the default's, so that cut and aligned views differ clearly.
    cfg = DataConfig(pair_translate=0.05, pair_scale=0.05, pair_rotate_deg=4.0, pair_mask_px=0)
    plain = MouthDataset(tiny_dataset, "train", size=64, data_cfg=cfg, train=True, seed=5)
    paired = MouthDataset(tiny_dataset, "train", size=64, data_cfg=cfg, train=True, seed=5, pairs=True)
    item, pair = plain[(1, 96)], paired[(1, 96)]
    # The first view is exactly the item the temporal term is off for.
    for key in ("image", "mask", "input", "local_box"):
        assert torch.equal(item[key], pair[key]), key
    assert pair["input2"].shape == (4, 96, 96) and pair["theta"].shape == (2, 3)
    # theta brings view 2 back onto view 1: aligned, the views agree far better than as cut.
    grid = F.affine_grid(pair["theta"][None], [1, 3, 96, 96], align_corners=False)
    back = F.grid_sample(pair["image2"][None], grid, align_corners=False)[0]
    covered = F.grid_sample(torch.ones(1, 1, 96, 96), grid, align_corners=False)[0] > 0.999
    aligned = ((back - pair["image"]).abs() * covered).sum() / (covered.sum() * 3)
    as_cut = (pair["image2"] - pair["image"]).abs().mean()
    assert not torch.equal(pair["image2"], pair["image"])
    assert aligned < 0.3 * as_cut
    # Validation items never carry a second view.
    val = MouthDataset(tiny_dataset, "val", size=64, data_cfg=cfg, train=False, pairs=True)
    assert "image2" not in val[0]


def test_pair_items_can_take_the_real_next_frame(tiny_dataset):
    from mouthsynth.data.augment import downscale

    # No jitter at all: the first view is the prepared crop, resampled.
    still = dict(flip=False, scale_jitter=0.0, rotate_deg=0.0, translate=0.0, color_jitter=0.0)
    still |= dict(pair_translate=0.0, pair_scale=0.0, pair_rotate_deg=0.0, pair_mask_px=0)
    # The tiny dataset keeps every 3rd frame.
    same = MouthDataset(tiny_dataset, "train", 64, DataConfig(**still, pair_next_gap=3), pairs=True)
    nxt = MouthDataset(
        tiny_dataset, "train", 64, DataConfig(**still, pair_next_gap=3, pair_next_frame=1.0), pairs=True
    )
    # Video frames have a next frame (3 frames on, same clip, same face); photos do not.
    pairs = [(nxt.records[i], nxt.records[j]) for i, j in nxt._next.items()]
    assert pairs and all(b["frame"] - a["frame"] == 3 and a["group"] == b["group"] for a, b in pairs)
    photos = [i for i, r in enumerate(nxt.records) if r["source"].endswith((".jpg", ".png"))]
    assert photos and not set(photos) & set(nxt._next)
    i, j = next(iter(nxt._next.items()))
    a, b = same[i], nxt[i]
    for key in ("image", "mask", "input", "theta"):
        assert torch.equal(a[key], b[key]), key
    # Without a next frame the second view is the same frame (nothing moved) ...
    assert torch.equal(a["image2"], a["image"])
    # ... with one, it is exactly that frame's crop, through the same resampling.
    image_j = downscale(nxt.raw(j)[0], 64)
    expected = torch.from_numpy(image_j).permute(2, 0, 1).float() / 127.5 - 1.0
    assert torch.equal(b["image2"], expected) and not torch.equal(b["image2"], b["image"])
    # A photo keeps the jitter view whatever the share.
    assert torch.equal(nxt[photos[0]]["image2"], nxt[photos[0]]["image"])


def _detail(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F).var())


def test_video_like_softens_a_photo_and_keeps_its_shape():
    rng = np.random.default_rng(0)
    photo = (rng.random((128, 128, 3)) * 255).astype(np.uint8)
    soft = video_like(photo, np.random.default_rng(1))
    assert soft.shape == photo.shape and soft.dtype == np.uint8
    assert _detail(soft) < 0.5 * _detail(photo)
    # Reproducible under a seed: training draws are.
    assert np.array_equal(soft, video_like(photo, np.random.default_rng(1)))


def test_photo_video_like_touches_photos_only_and_only_the_set_share(tiny_dataset):
    still = dict(flip=False, scale_jitter=0, rotate_deg=0, translate=0, color_jitter=0)
    plain = MouthDataset(tiny_dataset, "train", size=64, data_cfg=DataConfig(**still))
    always = MouthDataset(tiny_dataset, "train", size=64, data_cfg=DataConfig(**still, photo_video_like=1.0))
    photos = [i for i, r in enumerate(plain.records) if not is_video(r["source"])]
    videos = [i for i, r in enumerate(plain.records) if is_video(r["source"])]
    assert photos and videos
    for i in videos[:3]:
        assert torch.equal(always[i]["image"], plain[i]["image"])
    for i in photos:
        assert not torch.equal(always[i]["image"], plain[i]["image"])
        assert torch.equal(always[i]["mask"], plain[i]["mask"])  # the interior is not moved
    # A share of one half softens about half of the photo draws over epochs.
    half = MouthDataset(tiny_dataset, "train", size=64, data_cfg=DataConfig(**still, photo_video_like=0.5))
    softened = []
    for epoch in range(16):
        half.set_epoch(epoch)
        plain.set_epoch(epoch)
        softened += [not torch.equal(half[i]["image"], plain[i]["image"]) for i in photos]
    assert 0.2 < np.mean(softened) < 0.8
