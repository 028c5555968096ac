"""Typed configuration: every default of mouthsynth lives in this file.

A run's configuration is built from these dataclasses, then a YAML file, then ``KEY=VALUE``
overrides (``--set train.lr=1e-4``). Unknown keys and values of the wrong type fail at once with a
message naming the key. This module imports no torch: the inference path uses it too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mouthsynth.errors import ConfigError


@dataclass
class GeometryConfig:
    """Mouth geometry: how the mask and the two crops are cut around the lips."""

    # Side of the global crop = global_scale x outer-lip width: the mouth plus cheeks and chin,
    # enough context for the global discriminator to judge the mouth in its face.
    global_scale: float = 2.0
    # The tight local box = outer-lip bounding box grown by this share of its side on each side.
    local_margin: float = 0.12
    # Pixel lengths below are for a 128-px crop and scale with the crop size.
    # Interior-mask dilation in crop pixels: covers the lips' inner edge so no old interior
    # colour survives at the seam.
    mask_dilation: float = 1.0
    # Half-width in crop pixels of the band around the mask boundary that the L1 loss weighs more.
    boundary_band: float = 4.0
    # Feather (Gaussian sigma, crop pixels) of the paste-back alpha: a soft edge, no visible seam.
    feather: float = 1.2
    # The feather lies outside the interior (alpha 1 over all of it; the soft edge over the
    # lips, where the generated crop holds the known pixels) instead of centred on its edge, whose
    # inner half showed the old interior through the fill. Validation, shipped model: photos at
    # full resolution L1 -1.8%, LPIPS -2.0%, seam -6.4%, SSIM +0.0035; videos L1 -1.3%, LPIPS
    # -1.8%, flicker 1.033x -> 1.020x Telea's (docs/results.md).
    feather_outward: bool = True
    # Faces whose mouth_open (inner height / inner width) is below this count as closed.
    min_open: float = 0.06


@dataclass
class LandmarkConfig:
    # "mediapipe" (FaceMesh with refined lips, default) or "dlib68" (fallback, optional extra).
    backend: str = "mediapipe"
    # Faces are detected first (dlib HOG, finds faces down to ~60 px) and each is meshed on a crop
    # grown by this share of its size: MediaPipe's own detector misses small faces.
    face_margin: float = 0.6
    # Images are upsampled once for the HOG detector when their short side is below this.
    upsample_below: int = 1200
    max_faces: int = 16


@dataclass
class DataConfig:
    # Training crop side. Prepared crops are stored at 2x this so training can jitter scale.
    size: int = 128
    # Crop sides to train at, comma-separated (each batch draws one; repeat a side to draw it more
    # often); empty = ``size`` only. The generator is fully convolutional and inference runs it at
    # the crop's own size up to the largest of these, so a large mouth gets detail at its own
    # scale. Batches at larger sides hold fewer crops: the same pixels, the same step cost.
    sizes: str = ""
    # 1: every person is drawn equally often (a photo counts as much as a person's whole video);
    # 0: every sample equally often (frame counts decide); in between: count ** -balance weights.
    identity_balance: float = 1.0
    # Share of the draws that go to video frames (all video people together), the rest to
    # photos; 0: no split, people alone decide (about 1 draw in 5 is a video frame here).
    video_share: float = 0.0
    every: int = 2  # use every Nth video frame
    min_open: float = 0.12  # mouth_open threshold for a training sample
    closed_share: float = 0.05  # share of closed-mouth samples kept anyway
    val_fraction: float = 0.15  # share of identities held out for validation
    seed: int = 0
    # Augmentation (training split only).
    flip: bool = True
    scale_jitter: float = 0.08  # +- relative
    rotate_deg: float = 6.0
    translate: float = 0.04  # +- share of the crop side
    color_jitter: float = 0.08  # +- brightness/contrast/saturation
    # Random extra dilation of the interior mask (crop px). 0: train on the mask inference uses.
    mask_dilate_max: int = 0
    # The second view of the temporal term (``losses.temporal``): how far the next frame's crop
    # and interior move from this one's when only the landmarks jitter (the video tracker's
    # residual wobble): +- share of the side, +- relative scale, +- degrees, +- mask px.
    pair_translate: float = 0.01
    pair_scale: float = 0.02
    pair_rotate_deg: float = 1.0
    pair_mask_px: int = 1
    # Share of video items whose second view is the real next prepared frame of the same face
    # (at most ``pair_next_gap`` frames later) instead of the same frame moved: the fill must
    # change as the mouth really does between frames (teeth shown or hidden), not only stay put.
    pair_next_frame: float = 0.0
    pair_next_gap: int = 2
    # Share of photo draws made to look like a video frame's mouth before augmentation: the
    # prepared crop shrunk 1.5-4x and JPEG-compressed (quality 40-90), then enlarged back
    # (``data.augment.video_like``). Video crops carry about a seventh of the photos' fine detail
    # around the mouth (Laplacian variance); this lends the photos' ~250 people to the video domain.
    photo_video_like: float = 0.0


@dataclass
class ModelConfig:
    # Width multiplier of the MobileNetV2 encoder and the decoder (1.0 = default cost budget).
    # Continuing a state trained smaller (--init-from) grows it without changing its output
    # (nets/widen.py), for this and for the expansion: capacity can grow mid-training.
    width: float = 1.0
    # Expansion ratio of the encoder's inverted residual blocks (MobileNetV2 uses 6).
    expansion: float = 4.0
    # Discriminators (PatchGAN): base channels and number of stride-2 layers.
    disc_channels: int = 64
    disc_layers_global: int = 3
    disc_layers_local: int = 3
    spectral_norm: bool = False
    # The local discriminator sees the local box resized to this side.
    local_size: int = 64


@dataclass
class LossConfig:
    # A weight of 0 switches a term off, and then its network is not even built.
    l1: float = 1.0
    # Weight of the boundary band in the L1 loss relative to the interior (pixels outside both
    # count with weight 1 inside the mask only, so this is the boundary's extra emphasis).
    boundary_weight: float = 5.0
    # pix2pixHD uses lambda_vgg = 10 with per-layer weights 1/32 ... 1.
    perceptual: float = 10.0
    # "auto": vgg19 where torchvision's ImageNet VGG19 is found, else vgg16; or name one.
    perceptual_net: str = "auto"
    perceptual_weights: str = ""  # explicit weights file; searched before MOUTHSYNTH_WEIGHTS_DIR
    # "global": VGG sees the whole global crop (the design). "local": only the tight mouth crop,
    # where every synthesised pixel lies, at a quarter of the cost (for CPU training).
    perceptual_crop: str = "global"
    gan_mode: str = "lsgan"  # "lsgan" (pix2pixHD) or "hinge"
    adv_global: float = 1.0
    adv_local: float = 1.0
    # pix2pixHD lambda_feat = 10, one term per discriminator.
    fm_global: float = 10.0
    fm_local: float = 10.0
    # Temporal term: the same mouth cut twice, as two consecutive video frames' crops differ by
    # landmark jitter alone (``data.pair_*``); the fills must differ only as the truths do, the
    # flicker measure of the video evaluation. 0 = off (and no second view is made).
    temporal: float = 0.0


@dataclass
class TrainConfig:
    batch_size: int = 16
    lr: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    # Reconstruction losses only for these steps, then the adversarial terms switch on (GLCIC).
    warmup_steps: int = 2000
    # After --init-from a state without discriminators (or whose discriminators do not fit), the
    # new discriminators train alone for these steps before the generator hears from them.
    disc_warmup_steps: int = 200
    # During that warm-up the generator stands still (false: it trains on the reconstruction
    # losses alone, which drew blurrier mouths in continuation 41; training.md).
    disc_warmup_frozen_generator: bool = True
    # After --init-from (the committed state holds no optimiser moments), every learning rate
    # ramps linearly from 1/N to its set value over these first N steps; 0 = the full rate at once.
    restart_ramp_steps: int = 0
    max_steps: int = 100_000
    # The last this share of a run (of --max-minutes; without a time limit, of its steps to
    # max_steps) lowers every learning rate along a half cosine to anneal_floor x the set rate,
    # so a continuation ends on settled weights; the next one starts at the full rate again
    # (a warm restart). 0 = constant rates.
    anneal_fraction: float = 0.0
    anneal_floor: float = 0.1
    ema_decay: float = 0.999
    num_workers: int = 2
    amp: bool = True  # bf16 autocast where the hardware computes in bf16: CUDA, AVX512-BF16 / AMX CPUs
    channels_last: bool = False
    seed: int = 0
    log_every: int = 20
    image_every: int = 500
    val_every: int = 1000
    val_samples: int = 256
    # Before each validation (and so in every validated checkpoint and export), the EMA generator's
    # BatchNorm statistics are measured on it over this many fixed training batches ("precise
    # BN"). Otherwise they are the live generator's over its last ~10 batches, a draw that moved
    # validation L1 by +-0.005 between neighbouring checkpoints. 0 = keep the copied statistics.
    bn_batches: int = 50
    # Whether those batches carry the training augmentation (jitter of colour, scale, rotation,
    # position) or are the crops as inference cuts them; the statistics serve inference.
    bn_augment: bool = True
    # Added to the first epoch of an --init-from run. A continuation from a state that an earlier,
    # unexported continuation already trained from would otherwise replay that run's draws.
    stream_offset: int = 0
    # Crop sides validation scores at, comma-separated; empty = the training sides (data.sizes).
    val_sizes: str = ""
    ckpt_every: int = 1000
    keep_last: int = 3
    best_metric: str = "val/l1"  # lower is better


@dataclass
class InferenceConfig:
    # Paste-back: "alpha" (feathered blend with a clamped border colour correction) or "poisson"
    # (seamlessClone of the generated interior into the known pixels around it).
    blend: str = "alpha"
    color_match: bool = True
    # The alpha blend's border colour correction: the fill's colour step to the known pixels
    # just outside the interior, clamped to color_match_max levels, fading inward with a 1/e
    # depth of color_match_depth px of the 128-px crop. 24 levels over 6 px, chosen on the
    # validation people with step 12,313 (benchmarks/seam_correction.py) against the first
    # setting (12 levels over 3 px): crop L1 0.893x -> 0.882x Telea's on the video people, 0.730x
    # -> 0.708x on the photo people, crop LPIPS lower on both; video level (mouthsynth video's
    # loop) L1 -0.9%, LPIPS -0.8%, flicker unchanged; full-resolution photos L1 unchanged
    # (0.723x -> 0.724x), LPIPS 0.675x -> 0.669x, sharpness 0.44 -> 0.43, seam error +1.4%.
    color_match_max: float = 24.0
    color_match_depth: float = 6.0
    # One-Euro filter for video landmarks: low min_cutoff = smoother when still, beta = less lag.
    smooth_min_cutoff: float = 1.0
    smooth_beta: float = 0.05
    batch_size: int = 8
    # Largest crop side the generator runs at (0: the largest the model was trained at). Each
    # mouth is cut at its own resolution (the global crop's side in image pixels, rounded up to a
    # multiple of 32) between the model's base side and this: a large mouth gets detail at its
    # own scale instead of a small fill blown up. 192, chosen on the validation photos at full
    # resolution for the shipped model: against 128 and 256 it had the lowest L1 (0.119 vs 0.126
    # and 0.136), the lowest LPIPS and the most detail (docs/results.md); 256 px is still the
    # least trained side. Lower it to trade detail for speed.
    max_crop_size: int = 192
    # The smallest side a mouth is cut at (0: the model's base side; never above the cap): a
    # small mouth is enlarged to at least this before it is filled, because the model fills the
    # same view better at 192 px than at 128 (its own validation L1 0.103 against 0.114 at step
    # 12,313). Chosen on the validation photos at full resolution, step 12,313: 192 against the
    # base side moved the 12 of 24 photos whose mouths were cut below 192 px, L1 0.731x -> 0.699x
    # Telea's over all 24 (-0.0049 [-0.0135, +0.0016] paired per person), LPIPS 0.671x -> 0.651x,
    # SSIM and sharpness up (0.43 -> 0.46), seam +0.7%; 256 / 256 was worse on every figure
    # but the seam (L1 0.730x), 192 / 256 worse on L1 (0.707x). Video frames filled this way
    # (every 25th validation frame): L1 -1%, LPIPS +0.6%; `mouthsynth video` keeps its own cap.
    min_crop_size: int = 192
    # Photos only (video keeps the plain bilinear paste-back): the detail stage, against "blurry
    # teeth". How the generated fill is resampled to the photo ("linear", "cubic", "lanczos") and
    # the strength of an unsharp mask of it (0: off, the old paste-back exactly), its Gaussian
    # fill_detail_sigma px of the generated crop (in photo px it grows with the enlargement);
    # the strength fades in with the enlargement (photo px per crop px): none up to
    # fill_detail_from, all from fill_detail_full. Chosen on the validation photos at full
    # resolution with the shipped model (docs/results.md): sharpness 0.24 -> 0.61 of the truth's,
    # LPIPS 0.0890 -> 0.0866, L1 +1.7%; on video frames, whose mouths are rarely enlarged, it
    # changes nothing (LPIPS +-0.0001), while the same unsharp mask at every enlargement made
    # them worse (LPIPS +0.0044). Bicubic / Lanczos resampling did less than the unsharp mask.
    fill_upsampling: str = "linear"
    fill_detail: float = 3.0
    fill_detail_sigma: float = 0.5
    fill_detail_from: float = 1.0
    fill_detail_full: float = 2.0
    # H.264 output of video commands: libx264 CRF (lower = better, bigger) and speed preset.
    # "ultrafast" encodes a 720p frame in 0.44x "veryfast"'s time at the same quality (PSNR
    # 44.1 dB at CRF 18 on a 720p clip, benchmarks/encode_presets.py), for files 2.2x the size;
    # real time at 720p on 2 cores needs it. "veryfast" for smaller files.
    video_crf: int = 18
    video_preset: str = "ultrafast"
    # Video only: the largest crop side the generator runs at (0: as max_crop_size, the photos'
    # cap). Generation at 192 / 256 px costs about 1.6x / 3x the 128-px time per face (`mouthsynth
    # bench`), which real time at 720p on 2 cores cannot afford; photos keep the larger sides.
    video_max_crop_size: int = 128
    # Temporal filter of the fill (inference.temporal): share of the previous frame's fill kept
    # when the mouth is still (0: off, every frame filled on its own); inner-lip motion (px of the
    # 128-px crop) at which it fades to 0; change of the known pixels around the mouth ([0, 1]
    # units) that counts as a cut and resets it; fill change ([0, 1] units) past which a pixel
    # keeps less of the old fill (new teeth leave no ghost); whether the old fill is first moved
    # with the lips (upper teeth ride with the upper lip); the blur (px of the 128-px crop) below
    # which detail is the current frame's own, not averaged (0: all of it averaged). Chosen on
    # the validation videos (docs/results.md): with the centred paste-back feather, averaging all
    # of the fill cost LPIPS +3.2% against the per-frame model, so detail was 1 px (flicker
    # 1.03x Telea's); with the outward feather (geometry.feather_outward) it costs +1.5% and
    # gives 1.00x (0.998x; detail 1 px: 1.02x), within the 2% allowed. Sharper fills cost more to
    # average: step 8,296 took 0.85 (+1.7%, 0.999x); step 9,426 has no strength inside both
    # (0.85: 0.990x, +2.6%; 0.80: 0.997x, +2.2%; 0.75: 1.005x, +1.9%) and took 0.80; step 10,902
    # (softer, L1 x300) has none either (0.80: 0.985x, +3.1%; 0.75: 0.992x, +2.7%; 0.70: 0.999x,
    # +2.3%; 0.65: 1.007x, +2.0%), so 0.70 keeps flicker at Telea's at the least LPIPS cost over
    # the 2% (step 12,313 at 0.70: 0.995x, +2.4%; with the border correction at 24 levels over
    # 6 px: 0.997x, +3.1%; 0.65: 1.004x, +2.7%, so 0.70 stays).
    video_temporal: float = 0.70
    video_temporal_motion: float = 24.0
    video_temporal_cut: float = 0.08
    video_temporal_sigma: float = 0.5
    video_temporal_warp: bool = True
    video_temporal_detail: float = 0.0
    # While every face is tracked, new faces are looked for by a quick detector pass every this
    # many seconds (faces from ~80 px) and by the full, upsampled one (from ~60 px, 0.45 s on a
    # 720p frame) every video_full_detect_s (0: only at the start and when a face is lost, which
    # triggers it at once). 0 saves ~3 ms/frame at 720p; a 60-80 px face that appears while
    # others are tracked is then not found: set 5 for crowds of small faces.
    video_quick_detect_s: float = 1.0
    video_full_detect_s: float = 0.0
    # Decode and encode in their own threads, overlapping landmarks and generation.
    video_threads: bool = True


@dataclass
class Config:
    geometry: GeometryConfig = field(default_factory=GeometryConfig)
    landmarks: LandmarkConfig = field(default_factory=LandmarkConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    losses: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def digest(self) -> str:
        """A short hash of the configuration, stored in checkpoints and exported models."""
        payload = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]


_CHOICES: dict[str, tuple[str, ...]] = {
    "landmarks.backend": ("mediapipe", "dlib68"),
    "losses.perceptual_net": ("auto", "vgg19", "vgg16"),
    "losses.gan_mode": ("lsgan", "hinge"),
    "losses.perceptual_crop": ("global", "local"),
    "inference.blend": ("alpha", "poisson"),
    "inference.fill_upsampling": ("linear", "cubic", "lanczos"),
    "inference.video_preset": (
        "ultrafast",
        "superfast",
        "veryfast",
        "faster",
        "fast",
        "medium",
        "slow",
        "slower",
        "veryslow",
    ),
}


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    """Convert ``value`` to the field's type, or raise ConfigError naming ``key``."""
    target = {"int": int, "float": float, "bool": bool, "str": str}.get(str(annotation), annotation)
    if isinstance(value, str) and target is not str:
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config key '{key}': cannot parse {value!r}") from exc
        if target is float and isinstance(value, str):
            try:  # YAML 1.1 reads 3e-4 (no dot) as a string; a number is what was meant
                value = float(value)
            except ValueError:
                pass
    if target is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"config key '{key}': expected true/false, got {value!r}")
    if target is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise ConfigError(f"config key '{key}': expected an integer, got {value!r}")
        return int(value)
    if target is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config key '{key}': expected a number, got {value!r}")
        return float(value)
    if target is str:
        return "" if value is None else str(value)
    raise ConfigError(f"config key '{key}': unsupported type {annotation}")


def set_value(cfg: Config, key: str, value: Any) -> None:
    """Set one dotted key (``inference.blend``) with the checks a YAML file or ``--set`` gets."""
    section_name, _, name = key.partition(".")
    section = getattr(cfg, section_name, None)
    if not name or section is None or not dataclasses.is_dataclass(section) or section_name.startswith("_"):
        raise ConfigError(f"unknown config key '{key}' (sections: {', '.join(_sections())})")
    fields = {f.name: f for f in dataclasses.fields(section)}
    if name not in fields:
        raise ConfigError(f"unknown config key '{key}' (known in '{section_name}': {', '.join(fields)})")
    coerced = _coerce(key, value, fields[name].type)
    if key in _CHOICES and coerced not in _CHOICES[key]:
        raise ConfigError(f"config key '{key}': {coerced!r} is not one of {', '.join(_CHOICES[key])}")
    setattr(section, name, coerced)


def _sections() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def parse_sizes(data: DataConfig) -> list[int]:
    """The training crop sides (``data.sizes``, or ``data.size`` alone)."""
    text = data.sizes.strip()
    return [int(x) for x in text.split(",") if x.strip()] if text else [data.size]


def _validate(cfg: Config) -> None:
    try:
        sizes = parse_sizes(cfg.data)
    except ValueError as exc:
        raise ConfigError(
            f"config key 'data.sizes': {cfg.data.sizes!r} is not a comma-separated list of sides"
        ) from exc
    checks = [
        ("data.sizes", all(s % 32 == 0 and s >= 32 for s in sizes), "every side a multiple of 32, >= 32"),
        ("data.identity_balance", 0.0 <= cfg.data.identity_balance <= 1.0, "must be in [0, 1]"),
        ("data.video_share", 0.0 <= cfg.data.video_share < 1.0, "must be in [0, 1)"),
        ("data.pair_next_frame", 0.0 <= cfg.data.pair_next_frame <= 1.0, "must be in [0, 1]"),
        ("data.pair_next_gap", cfg.data.pair_next_gap >= 1, "must be >= 1"),
        ("data.photo_video_like", 0 <= cfg.data.photo_video_like <= 1, "must be in [0, 1]"),
        (
            "train.val_sizes",
            all(
                x.isdigit() and int(x) % 32 == 0 for x in cfg.train.val_sizes.replace(" ", "").split(",") if x
            ),
            "comma-separated sides, each a multiple of 32",
        ),
        ("data.size", cfg.data.size % 32 == 0 and cfg.data.size >= 32, "must be a multiple of 32, >= 32"),
        ("train.batch_size", cfg.train.batch_size >= 1, "must be >= 1"),
        ("train.lr", cfg.train.lr > 0, "must be > 0"),
        ("train.warmup_steps", cfg.train.warmup_steps >= 0, "must be >= 0"),
        ("train.restart_ramp_steps", cfg.train.restart_ramp_steps >= 0, "must be >= 0"),
        ("train.ema_decay", 0.0 <= cfg.train.ema_decay < 1.0, "must be in [0, 1)"),
        ("train.anneal_fraction", 0.0 <= cfg.train.anneal_fraction <= 1.0, "must be in [0, 1]"),
        ("train.anneal_floor", 0.0 <= cfg.train.anneal_floor <= 1.0, "must be in [0, 1]"),
        ("model.width", cfg.model.width > 0, "must be > 0"),
        ("model.local_size", cfg.model.local_size % 16 == 0, "must be a multiple of 16"),
        ("data.val_fraction", 0.0 <= cfg.data.val_fraction < 1.0, "must be in [0, 1)"),
        ("geometry.global_scale", cfg.geometry.global_scale >= 1.2, "must be >= 1.2"),
        ("inference.min_crop_size", cfg.inference.min_crop_size >= 0, "must be >= 0 (0: the model's side)"),
        ("inference.color_match_max", cfg.inference.color_match_max >= 0, "must be >= 0 (levels)"),
        ("inference.color_match_depth", cfg.inference.color_match_depth > 0, "must be > 0 (px)"),
        ("inference.fill_detail", cfg.inference.fill_detail >= 0, "must be >= 0 (0: off)"),
        ("inference.fill_detail_sigma", cfg.inference.fill_detail_sigma > 0, "must be > 0"),
    ]
    for section in ("losses",):
        for f in dataclasses.fields(getattr(cfg, section)):
            value = getattr(getattr(cfg, section), f.name)
            if isinstance(value, float) and value < 0:
                checks.append((f"{section}.{f.name}", False, "must be >= 0"))
    for key, ok, why in checks:
        if not ok:
            raise ConfigError(f"config key '{key}': {why}")


def _flatten(prefix: str, tree: Any) -> list[tuple[str, Any]]:
    if isinstance(tree, dict):
        items: list[tuple[str, Any]] = []
        for k, v in tree.items():
            items += _flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return items
    return [(prefix, tree)]


def parse_override(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{text}' is not KEY=VALUE")
    return key.strip(), value.strip()


def load_config(path: str | Path | None = None, overrides: typing.Iterable[str] = ()) -> Config:
    """Defaults, then the YAML file at ``path``, then ``KEY=VALUE`` overrides, then validation."""
    cfg = Config()
    if path is not None:
        path = Path(path)
        try:
            tree = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: a config file must be a mapping of sections")
        for key, value in _flatten("", tree):
            set_value(cfg, key, value)
    for text in overrides:
        set_value(cfg, *parse_override(text))
    _validate(cfg)
    return cfg


def config_from_dict(tree: dict[str, Any]) -> Config:
    cfg = Config()
    for key, value in _flatten("", tree):
        set_value(cfg, key, value)
    _validate(cfg)
    return cfg


def save_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(cfg.to_yaml())


__all__ = [
    "Config",
    "DataConfig",
    "GeometryConfig",
    "InferenceConfig",
    "LandmarkConfig",
    "LossConfig",
    "ModelConfig",
    "TrainConfig",
    "config_from_dict",
    "load_config",
    "parse_override",
    "parse_sizes",
    "save_config",
]
