"""GAN training of the mouth generator.

A batch dict flows through named steps: ``generate`` adds the composited ``fake``; the
discriminator step adds ``d/<name>`` terms; the generator step adds one ``g/<term>`` per loss in
``LOSS_TERMS``, each weighted by the config key of the same name (weight 0 = term off, and its
network is never built). Reconstruction losses only during ``train.warmup_steps``, then the
adversarial and feature-matching terms switch on (GLCIC). Fresh discriminators after
``--init-from`` train alone for ``train.disc_warmup_steps`` while the generator stands still.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler

from mouthsynth.config import Config, parse_sizes
from mouthsynth.data.dataset import MouthDataset
from mouthsynth.errors import ConfigError, InputError
from mouthsynth.io.images import is_video
from mouthsynth.losses import (
    PerceptualLoss,
    boundary_weighted_l1,
    d_loss,
    feature_matching,
    g_loss,
    jitter_consistency,
)
from mouthsynth.nets.discriminator import PatchDiscriminator, build_discriminators, crop_local
from mouthsynth.nets.generator import build_generator
from mouthsynth.training import checkpoint as ckpt
from mouthsynth.training.ema import EMA
from mouthsynth.training.schedule import anneal_scale, restart_ramp_scale

ADVERSARIAL_TERMS = ("adv_global", "adv_local", "fm_global", "fm_local")


def identity_weights(
    identities: list[str], balance: float, is_video: list[bool] | None = None, video_share: float = 0.0
) -> np.ndarray | None:
    """Sampling weight per sample: ``count(identity) ** -balance`` (1 = every person equally
    often, 0 = every sample equally often -> None, a plain permutation). With ``video_share``
    in (0, 1) and both kinds present, video samples together get that share of the draws and
    photos the rest, people still balanced within each kind (photo people outnumber video
    people about 4 to 1, so per-person balance alone gives video a fifth of the draws)."""
    if balance <= 0 and video_share <= 0:
        return None
    names, inverse, counts = np.unique(np.asarray(identities), return_inverse=True, return_counts=True)
    weights = counts[inverse].astype(np.float64) ** -balance
    weights /= weights.sum()
    if is_video is not None and 0 < video_share < 1:
        video = np.asarray(is_video, bool)
        if video.any() and not video.all():
            weights[video] *= video_share / weights[video].sum()
            weights[~video] *= (1 - video_share) / weights[~video].sum()
    return weights


def bf16_native(device: torch.device) -> bool:
    """Whether bf16 autocast pays on ``device``: CUDA, and CPUs that compute in bf16 natively
    (AVX512-BF16 or AMX, through oneDNN); elsewhere bf16 is emulated and slower than fp32."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


class EpochBatches(Sampler[list]):
    """The batches of one epoch, as lists of ``(index, crop side)``, planned from a seed alone:
    resuming at sample offset ``start`` replays exactly the batches an uninterrupted run would
    have seen. ``weights`` draws samples with replacement (identity balance), else a permutation.
    Each batch draws a side from ``sizes`` and holds ``batch_size * (base / side)**2`` crops, so
    every step costs about the same. Shards by rank under DDP, every rank with the same sides."""

    def __init__(
        self,
        n: int,
        seed: int,
        epoch: int = 0,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
        batch_size: int = 16,
        sizes: list[int] | None = None,
        base_size: int = 128,
        weights: np.ndarray | None = None,
    ):
        self.n, self.seed, self.epoch, self.start, self.rank, self.world = n, seed, epoch, start, rank, world
        self.batch_size, self.base_size = batch_size, base_size
        self.sizes = sizes or [base_size]
        self.weights = weights

    def _order(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        if self.weights is None:
            order = torch.randperm(self.n, generator=g)
        else:
            order = torch.multinomial(torch.from_numpy(self.weights), self.n, replacement=True, generator=g)
        # Equal shards: ranks with more batches than others would hang DDP at the epoch's end.
        usable = self.n - self.n % self.world
        return order[:usable][self.rank :: self.world].tolist()

    def _plan(self) -> list[list[tuple[int, int]]]:
        order = self._order()
        rng = np.random.default_rng([self.seed, self.epoch, 7])
        batches, pos = [], 0
        while True:
            side = int(self.sizes[int(rng.integers(len(self.sizes)))])
            count = max(1, round(self.batch_size * (self.base_size / side) ** 2))
            if pos + count > len(order):
                return batches  # drop_last
            batches.append([(i, side) for i in order[pos : pos + count]])
            pos += count

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        done = 0
        for batch in self._plan():
            if done >= self.start:
                yield batch
            done += len(batch)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _distributed() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def leave_stop_signals_to_the_main_process(_worker_id: int) -> None:
    """A loader worker ignores Ctrl-C and SIGTERM. A terminal's Ctrl-C reaches the whole process
    group, and so does the SIGTERM of a cluster's time limit or of ``kill -- -PGID``; a worker
    killed by it would crash the run instead of letting the main process stop it cleanly."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


@contextmanager
def stop_on_signals(flag: dict) -> Iterator[None]:
    """While training, the first Ctrl-C or SIGTERM sets ``flag["stop"]``: the step under way
    finishes, is validated and checkpointed, and training returns, so an interrupted run loses
    no steps. A second one stops at once (the last complete checkpoint stays). Signals can only
    be caught in the main thread; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def request(signum, frame):
        if flag.get("stop"):
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if signum == signal.SIGTERM and previous[signum] == signal.SIG_DFL:
                signal.raise_signal(signum)  # terminate, as SIGTERM does
                return
            # Not the previous handler: a run started in the background (nohup ... &) inherits
            # SIGINT ignored, and re-raising into that would ignore the second Ctrl-C.
            raise KeyboardInterrupt
        flag["stop"] = True
        print(
            f"\n{signal.Signals(signum).name}: stopping after this step (validate, checkpoint); "
            "send it again to stop at once",
            flush=True,
        )

    for sig in STOP_SIGNALS:
        signal.signal(sig, request)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Trainer:
    def __init__(
        self,
        cfg: Config,
        data_root: Path,
        run_dir: Path,
        device: str = "cpu",
        resume: bool = False,
        progress: bool = True,
        allow_random_vgg: bool = False,
        init_from: Path | None = None,
    ):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.world, self.rank, local_rank = _distributed()
        if self.world > 1:
            import torch.distributed as dist

            backend = "nccl" if device == "cuda" else "gloo"
            dist.init_process_group(backend)
            if device == "cuda":
                torch.cuda.set_device(local_rank)
        if device not in ("cpu", "cuda"):
            raise ConfigError(f"--device {device}: expected cpu or cuda")
        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available")
        self.device = torch.device(f"cuda:{local_rank}" if device == "cuda" else "cpu")
        self.is_main = self.rank == 0
        torch.manual_seed(cfg.train.seed + self.rank)
        np.random.seed(cfg.train.seed + self.rank)

        self.train_set = MouthDataset(
            data_root,
            "train",
            cfg.data.size,
            cfg.data,
            cfg.geometry,
            True,
            cfg.data.seed,
            pairs=cfg.losses.temporal > 0,  # the temporal term's second view
        )
        per_rank = len(self.train_set) // self.world
        if per_rank < cfg.train.batch_size:
            # drop_last would leave every epoch empty and the loop would never advance.
            raise InputError(
                data_root,
                f"{len(self.train_set)} training samples, fewer than train.batch_size="
                f"{cfg.train.batch_size} per process",
            )
        self.val_set = MouthDataset(
            data_root, "val", cfg.data.size, cfg.data, cfg.geometry, False, cfg.data.seed
        )

        self.G = build_generator(cfg.model).to(self.device)
        self.Ds: dict[str, PatchDiscriminator] = {
            k: d.to(self.device) for k, d in build_discriminators(cfg.model, cfg.losses).items()
        }
        if cfg.train.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
        self.perceptual: PerceptualLoss | None = None
        if cfg.losses.perceptual > 0:
            self.perceptual = PerceptualLoss(
                cfg.losses.perceptual_net,
                cfg.losses.perceptual_weights or None,
                allow_random=allow_random_vgg,
            ).to(self.device)
            # Record what the model is trained with (issue: backbone and its sha256 in the config).
            cfg.losses.perceptual_net = self.perceptual.net_name
            cfg.losses.perceptual_weights = self.perceptual.weights_path or ""
        self.perceptual_sha256 = self.perceptual.weights_sha256 if self.perceptual else None

        betas = (cfg.train.beta1, cfg.train.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.train.lr, betas=betas)
        self.opt_D = {
            k: torch.optim.Adam(d.parameters(), lr=cfg.train.lr_d, betas=betas) for k, d in self.Ds.items()
        }

        self.G_train: nn.Module = self.G
        self.D_train: dict[str, nn.Module] = dict(self.Ds)
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_train = DDP(self.G, device_ids=ids)
            self.D_train = {k: DDP(d, device_ids=ids) for k, d in self.Ds.items()}
        # After the DDP wrap, which broadcasts rank 0's initial weights: every rank's EMA agrees.
        self.ema = EMA(self.G, cfg.train.ema_decay)

        self.use_amp = cfg.train.amp and bf16_native(self.device)
        self.step = 0
        self.epoch = 0
        self.offset = 0  # samples of the current epoch already consumed (per rank)
        self.best: float | None = None
        # Steps before which the G step ignores the discriminators (fresh Ds after --init-from).
        self.disc_warmup_until = 0
        self.init_info: dict = {}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if init_from is not None and not resume:
            self._init_from(Path(init_from))
        if resume:
            found = ckpt.latest_checkpoint(self.run_dir)
            if found is None:
                raise InputError(self.run_dir, "--resume: no checkpoint in this run folder")
            state = ckpt.load_checkpoint(found, self._modules(), self._optimizers())
            self.step, self.epoch, self.offset = state["step"], state["epoch"], state["offset"]
            self.best = state.get("best")
            self.disc_warmup_until = state.get("disc_warmup_until", 0)
            self.init_info = state.get("init_info", {})
        if self.is_main:
            self._write_config()
        self.writer = None

    def _init_from(self, folder: Path) -> None:
        """Continue a committed training state: its weights, its cumulative step count, draws no
        earlier continuation saw; fresh optimisers, and a discriminator warm-up where the state
        has no fitting discriminators."""
        from mouthsynth.nets.widen import widen_to_fit
        from mouthsynth.training.state import load_state

        def fit(name, tensors, module):
            # A state of a smaller width or expansion continues at this run's size, its output unchanged.
            if name.startswith("generator"):
                return widen_to_fit(tensors, module)
            # A discriminator of another width (disc_channels, layers) starts fresh and warms up.
            own = module.state_dict()
            if tensors.keys() != own.keys() or any(tensors[k].shape != own[k].shape for k in own):
                print(f"{name}: the state's weights do not fit this run's; a fresh one trains alone first")
                return None
            return tensors

        modules = {"generator": self.G, "generator_ema": self.ema.model}
        modules.update({f"disc_{k}": d for k, d in self.Ds.items()})
        info, loaded = load_state(folder, modules, adapt=fit)
        if "generator_ema" not in loaded:
            self.ema.model.load_state_dict(self.G.state_dict())
        self.step = int(info["step"])
        # The data stream goes on too: a continuation that restarted at epoch 0 would replay the
        # same draws and augmentations every time (each CPU session covers about two epochs).
        # The state's step numbers its first epoch: it grows by hundreds of steps between
        # states, a continuation by a few epochs, so no two continuations share an epoch (arms
        # branched from one state do, which keeps their comparison fair).
        self.epoch, self.offset = self.step + self.cfg.train.stream_offset, 0
        if any(f"disc_{k}" not in loaded for k in self.Ds):
            self.disc_warmup_until = self.step + self.cfg.train.disc_warmup_steps
        self.init_info = {"from": str(folder), "step": self.step, "loaded": loaded}

    @property
    def restart_step(self) -> int | None:
        """The step a continuation began at with fresh optimisers (--init-from; kept through
        --resume in ``init_info``): the learning rates ramp from it. None for a run from scratch."""
        return self.init_info.get("step")

    # --- bookkeeping --------------------------------------------------------------------
    def _modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"generator": self.G, "generator_ema": self.ema.model}
        mods.update({f"disc_{k}": d for k, d in self.Ds.items()})
        return mods

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts: dict[str, torch.optim.Optimizer] = {"generator": self.opt_G}
        opts.update({f"disc_{k}": o for k, o in self.opt_D.items()})
        return opts

    def config_yaml(self) -> str:
        text = self.cfg.to_yaml()
        if self.perceptual_sha256:
            text += (
                f"# perceptual backbone: {self.cfg.losses.perceptual_net}, sha256 {self.perceptual_sha256}\n"
            )
        return text

    def perceptual_info(self) -> dict:
        """Which perceptual backbone trained the generator (recorded in the run and in every
        checkpoint, so a checkpoint or state moved out of its run folder still tells export)."""
        return {
            "perceptual_net": self.cfg.losses.perceptual_net if self.perceptual else None,
            "perceptual_sha256": self.perceptual_sha256,
        }

    def _write_config(self) -> None:
        (self.run_dir / "config.yaml").write_text(self.config_yaml())
        info = {
            **self.perceptual_info(),
            "perceptual_weights": self.cfg.losses.perceptual_weights or None,
            "train_samples": len(self.train_set),
            "val_samples": len(self.val_set),
            "config_digest": self.cfg.digest(),
            "device": str(self.device),
            "bf16_autocast": self.use_amp,
            "torch": torch.__version__,
        }
        (self.run_dir / "run.json").write_text(json.dumps(info, indent=2))

    def _log(self, scalars: dict[str, float]) -> None:
        if not self.is_main:
            return
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))
        for k, v in scalars.items():
            self.writer.add_scalar(k, v, self.step)
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(
                json.dumps({"step": self.step, **{k: round(float(v), 6) for k, v in scalars.items()}}) + "\n"
            )

    # --- the named steps ------------------------------------------------------------------
    def adversarial_on(self) -> bool:
        """The discriminators train."""
        return self.step >= self.cfg.train.warmup_steps and bool(self.Ds)

    def generator_hears_discriminators(self) -> bool:
        return self.adversarial_on() and self.step >= self.disc_warmup_until

    def generator_frozen(self) -> bool:
        """Fresh discriminators are warming up and the generator waits for them."""
        return (
            self.cfg.train.disc_warmup_frozen_generator
            and self.adversarial_on()
            and self.step < self.disc_warmup_until
        )

    def local_size(self, x: torch.Tensor) -> int:
        """The local view's side scales with the crop: a 256-px crop's mouth is seen at 2x the
        detail of a 128-px one, not squeezed back to the 128-px view."""
        side = self.cfg.model.local_size * x.shape[-1] / self.cfg.data.size
        return max(16, int(round(side / 16)) * 16)

    def view(self, name: str, x: torch.Tensor, batch: dict) -> torch.Tensor:
        """What discriminator ``name`` sees: the whole global crop, or the tight local crop."""
        return x if name == "global" else crop_local(x, batch["local_box"], self.local_size(x))

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if self.use_amp else nullcontext()

    def generate(self, batch: dict) -> dict:
        with self.autocast():
            batch["fake"] = self.G_train(batch["input"]).float()
            if "input2" in batch:
                batch["fake2"] = self.G_train(batch["input2"]).float()
        return batch

    def discriminator_step(self, batch: dict) -> dict[str, float]:
        out = {}
        for name, D in self.D_train.items():
            self.Ds[name].requires_grad_(True)
            with self.autocast():
                real_logits, _ = D(self.view(name, batch["image"], batch))
                fake_logits, _ = D(self.view(name, batch["fake"].detach(), batch))
                loss = d_loss(real_logits.float(), fake_logits.float(), self.cfg.losses.gan_mode)
            self.opt_D[name].zero_grad(set_to_none=True)
            loss.backward()
            self.opt_D[name].step()
            out[f"d/{name}"] = loss.item()
        return out

    def generator_losses(self, batch: dict) -> dict[str, torch.Tensor]:
        w = self.cfg.losses
        fake, real = batch["fake"], batch["image"]
        terms: dict[str, torch.Tensor] = {}
        if w.l1 > 0:
            terms["l1"] = boundary_weighted_l1(
                fake, real, batch["mask"], batch["boundary"], w.boundary_weight
            )
        if self.perceptual is not None:
            if w.perceptual_crop == "local":
                size = self.local_size(fake)
                views = crop_local(fake, batch["local_box"], size), crop_local(real, batch["local_box"], size)
            else:
                views = fake, real
            with self.autocast():  # VGG is most of a step's arithmetic
                terms["perceptual"] = self.perceptual(*views).float()
        if w.temporal > 0 and "fake2" in batch:
            terms["temporal"] = jitter_consistency(
                fake, real, batch["mask"], batch["fake2"], batch["image2"], batch["mask2"], batch["theta"]
            )
        if self.generator_hears_discriminators():
            # The plain modules, not their DDP wrappers: D's weights get no gradient here, and a
            # DDP forward would wait for gradients that never come.
            for name, D in self.Ds.items():
                D.requires_grad_(False)  # the G step must not train D
                with self.autocast():
                    fake_logits, fake_feats = D(self.view(name, fake, batch))
                    if getattr(w, f"fm_{name}") > 0:
                        with torch.no_grad():
                            _, real_feats = D(self.view(name, real, batch))
                if getattr(w, f"adv_{name}") > 0:
                    terms[f"adv_{name}"] = g_loss(fake_logits.float(), w.gan_mode)
                if getattr(w, f"fm_{name}") > 0:
                    terms[f"fm_{name}"] = feature_matching(
                        [f.float() for f in fake_feats], [r.float() for r in real_feats]
                    )
        return terms

    def generator_step(self, batch: dict) -> dict[str, float]:
        terms = self.generator_losses(batch)
        total = sum(getattr(self.cfg.losses, k) * v for k, v in terms.items())
        self.opt_G.zero_grad(set_to_none=True)
        total.backward()
        self.opt_G.step()
        self.ema.update(self.G, self.step)
        out = {f"g/{k}": v.item() for k, v in terms.items()}
        out["g/total"] = float(total.item())
        return out

    def train_step(self, batch: dict) -> dict[str, float]:
        self.G_train.train()
        batch = {
            k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()
        }
        if self.cfg.train.channels_last:
            for key in ("input", "input2"):
                if key in batch:
                    batch[key] = batch[key].contiguous(memory_format=torch.channels_last)
        if self.generator_frozen():
            # Fresh discriminators learn what this generator draws; it waits for them unchanged
            # (eval mode: its BatchNorm statistics stay as the state left them).
            self.G_train.eval()
            with torch.no_grad():
                batch = self.generate(batch)
            scalars = self.discriminator_step(batch)
        else:
            batch = self.generate(batch)
            scalars = self.discriminator_step(batch) if self.adversarial_on() else {}
            scalars.update(self.generator_step(batch))
        self.step += 1
        self.last_batch = batch
        return scalars

    # --- validation ------------------------------------------------------------------------
    def _val_indices(self) -> list[int]:
        """A fixed subset, spread evenly over people and, within a person, over their samples:
        every checkpoint is judged on the same crops, and one long clip cannot outvote the rest."""
        by_person: dict[str, list[int]] = {}
        for i, rec in enumerate(self.val_set.records):
            by_person.setdefault(rec.get("identity", rec["id"]), []).append(i)
        per = max(1, math.ceil(self.cfg.train.val_samples / max(1, len(by_person))))
        picks = []
        for items in by_person.values():
            take = np.linspace(0, len(items) - 1, min(per, len(items))).round().astype(int)
            picks += [items[t] for t in sorted(set(take.tolist()))]
        return picks

    def _identity_weights(self) -> np.ndarray | None:
        if not hasattr(self, "_weights"):
            records = self.train_set.records
            ids = [r.get("identity", r["id"]) for r in records]
            video = [is_video(r["source"]) for r in records]
            data = self.cfg.data
            self._weights = identity_weights(ids, data.identity_balance, video, data.video_share)
        return self._weights

    def _bn_batches(self) -> Iterator[torch.Tensor]:
        """The generator inputs of ``train.bn_batches`` training batches, the same every time:
        a fixed epoch of their own, the training crop sides, with the training augmentation
        or (``train.bn_augment: false``) as inference cuts the crops."""
        if not hasattr(self, "_bn_set"):
            cfg = self.cfg
            self._bn_set = MouthDataset(
                self.train_set.root,
                "train",
                cfg.data.size,
                cfg.data,
                cfg.geometry,
                cfg.train.bn_augment,
                cfg.data.seed + 1,
            )
        sampler = EpochBatches(
            len(self._bn_set),
            self.cfg.data.seed + 1,
            batch_size=self.cfg.train.batch_size,
            sizes=parse_sizes(self.cfg.data),
            base_size=self.cfg.data.size,
            weights=self._identity_weights(),
        )
        for i, batch in enumerate(sampler):
            if i >= self.cfg.train.bn_batches:
                return
            yield torch.stack([self._bn_set[key]["input"] for key in batch]).to(self.device)

    @torch.no_grad()
    def refresh_ema_bn(self) -> None:
        """Measure the EMA generator's BatchNorm statistics on the EMA generator itself (the
        cumulative average over ``_bn_batches``), instead of the live generator's last few
        batches that ``EMA.update`` copies: a validation or export no longer depends on which
        batches happened to come last."""
        G = self.ema.model
        norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms or self.cfg.train.bn_batches <= 0:
            return
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        G.train()
        for x in self._bn_batches():
            G(x)
        G.eval()
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Masked L1 and PSNR of the EMA generator (its BatchNorm statistics measured first) on
        validation people at every training side; ``val/l1`` is the mean over sides of the mean
        over people (each person weighs the same)."""
        if len(self.val_set) == 0 or not self.is_main:
            return {}
        self.refresh_ema_bn()
        indices = self._val_indices()
        people = [self.val_set.records[i].get("identity", self.val_set.records[i]["id"]) for i in indices]
        G = self.ema.model.eval()
        out: dict[str, float] = {}
        l1_sides, psnr_sides = [], []
        text = self.cfg.train.val_sizes.strip()
        sides = [int(x) for x in text.split(",") if x.strip()] if text else parse_sizes(self.cfg.data)
        for side in sorted(set(sides)):
            l1s, mses = [], []
            for start in range(0, len(indices), 32):
                items = [self.val_set[(i, side)] for i in indices[start : start + 32]]
                x = torch.stack([it["input"] for it in items]).to(self.device)
                real = torch.stack([it["image"] for it in items]).to(self.device)
                mask = torch.stack([it["mask"] for it in items]).to(self.device)
                diff = (G(x) - real).abs() / 2 * mask  # in [0, 1] units
                px = (mask.sum((1, 2, 3)) * 3).clamp_min(1)
                l1s += (diff.sum((1, 2, 3)) / px).tolist()
                mses += ((diff**2).sum((1, 2, 3)) / px).tolist()
            per_l1: dict[str, list[float]] = {}
            per_mse: dict[str, list[float]] = {}
            for person, a, b in zip(people, l1s, mses, strict=True):
                per_l1.setdefault(person, []).append(a)
                per_mse.setdefault(person, []).append(b)
            l1 = float(np.mean([np.mean(v) for v in per_l1.values()]))
            mse = float(np.mean([np.mean(v) for v in per_mse.values()]))
            psnr = 10 * math.log10(1 / max(mse, 1e-10))
            out[f"val/l1_{side}"], out[f"val/psnr_{side}"] = l1, psnr
            l1_sides.append(l1)
            psnr_sides.append(psnr)
        out["val/l1"] = float(np.mean(l1_sides))
        out["val/psnr"] = float(np.mean(psnr_sides))
        return out

    def _image_grid(self, batch: dict) -> None:
        if not self.is_main or self.writer is None:
            return
        k = min(4, batch["input"].shape[0])
        rows = [torch.cat([batch["input"][i, :3], batch["fake"][i], batch["image"][i]], 2) for i in range(k)]
        grid = (torch.cat(rows, 1).detach().float().cpu().clamp(-1, 1) + 1) / 2
        self.writer.add_image("train/white_filled|generated|real", grid, self.step)

    # --- the loop ------------------------------------------------------------------------------
    def _loader(self) -> DataLoader:
        self.train_set.set_epoch(self.epoch)
        sampler = EpochBatches(
            len(self.train_set),
            self.cfg.data.seed,
            self.epoch,
            self.offset,
            self.rank,
            self.world,
            self.cfg.train.batch_size,
            parse_sizes(self.cfg.data),
            self.cfg.data.size,
            self._identity_weights(),
        )
        workers = self.cfg.train.num_workers
        return DataLoader(
            self.train_set,
            batch_sampler=sampler,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=2 if workers > 0 else None,
            worker_init_fn=leave_stop_signals_to_the_main_process if workers > 0 else None,
        )

    def save(self, val: dict[str, float] | None = None) -> Path | None:
        if not self.is_main:
            return None
        metric = self.cfg.train.best_metric
        improved = bool(val) and metric in val and (self.best is None or val[metric] < self.best)
        if improved:
            self.best = val[metric]
        state = {
            "epoch": self.epoch,
            "offset": self.offset,
            "best": self.best,
            "metrics": val or {},
            "disc_warmup_until": self.disc_warmup_until,
            "init_info": self.init_info,
            **self.perceptual_info(),
        }
        path = ckpt.save_checkpoint(
            self.run_dir,
            self.step,
            self._modules(),
            self._optimizers(),
            state,
            self.config_yaml(),
            self.cfg.train.keep_last,
        )
        if improved:
            ckpt.mark_best(self.run_dir, path, metric, self.best)
        return path

    def fit(self, max_steps: int | None = None, max_minutes: float | None = None) -> dict[str, float]:
        """Train to ``max_steps`` (cumulative), for ``max_minutes`` of wall time, or until Ctrl-C /
        SIGTERM (``stop_on_signals``), whichever comes first; each way the last step is
        validated and checkpointed."""
        flag: dict = {}
        with stop_on_signals(flag):
            return self._fit(max_steps, max_minutes, flag)

    def _scale_learning_rates(self, scale: float) -> None:
        """Every optimiser at ``scale`` x its configured rate (``train.anneal_*``, the restart ramp)."""
        self.opt_G.param_groups[0]["lr"] = self.cfg.train.lr * scale
        for opt in self.opt_D.values():
            opt.param_groups[0]["lr"] = self.cfg.train.lr_d * scale

    def _stop_now(self, t0: float, max_minutes: float | None, flag: dict) -> bool:
        """Out of time or asked to stop; under torchrun every rank agrees (any rank's reason)."""
        out_of_time = max_minutes is not None and time.perf_counter() - t0 >= max_minutes * 60
        stop = bool(flag.get("stop")) or out_of_time
        if self.world > 1:
            import torch.distributed as dist

            vote = torch.tensor([float(stop)], device=self.device)
            dist.all_reduce(vote, op=dist.ReduceOp.MAX)
            stop = bool(vote.item())
        return stop

    def _fit(self, max_steps: int | None, max_minutes: float | None, flag: dict) -> dict[str, float]:
        from tqdm import tqdm

        cfg = self.cfg.train
        max_steps = max_steps if max_steps is not None else cfg.max_steps
        bar = tqdm(
            total=max_steps,
            initial=self.step,
            disable=not (self.progress and self.is_main),
            dynamic_ncols=True,
        )
        last: dict[str, float] = {}
        if self.init_info and self.step == self.init_info.get("step") and self.offset == 0:
            # Where a continuation starts, on today's validation people: its gains are measured
            # from here, not from a figure taken on another validation set.
            start = self.validate()
            if start:
                self._log(start)
                self.best = start.get(cfg.best_metric, self.best)
        t0, s0 = time.perf_counter(), self.step
        target = max_steps
        val: dict[str, float] = {}
        # Seconds spent waiting for the loader since the last log line: on a GPU this says
        # whether more loader workers or a larger batch would buy speed.
        waited, last_log, asked = 0.0, time.perf_counter(), time.perf_counter()
        while self.step < max_steps:
            loader = self._loader()
            for batch in loader:
                waited += time.perf_counter() - asked
                if max_minutes is not None:
                    run_share = (time.perf_counter() - t0) / max(max_minutes * 60, 1e-9)
                else:
                    run_share = (self.step + 1 - s0) / max(target - s0, 1)  # this step's share
                scale = anneal_scale(run_share, cfg.anneal_fraction, cfg.anneal_floor)
                if self.restart_step is not None:
                    scale *= restart_ramp_scale(self.step + 1 - self.restart_step, cfg.restart_ramp_steps)
                self._scale_learning_rates(scale)
                scalars = self.train_step(batch)
                self.offset += batch["input"].shape[0]
                last = scalars
                bar.update(1)
                if self._stop_now(t0, max_minutes, flag):
                    max_steps = self.step  # out of time or asked to stop: this step is the last
                if self.step % cfg.log_every == 0 or self.step == max_steps:
                    rate = (self.step - s0) / max(time.perf_counter() - t0, 1e-9)
                    lrs = {"lr/generator": self.opt_G.param_groups[0]["lr"]}
                    lrs.update({f"lr/disc_{k}": o.param_groups[0]["lr"] for k, o in self.opt_D.items()})
                    now = time.perf_counter()
                    wait_share = waited / max(now - last_log, 1e-9)
                    waited, last_log = 0.0, now
                    speed = {"speed/steps_per_s": rate, "speed/data_wait_share": wait_share}
                    self._log({**scalars, **lrs, **speed})
                    bar.set_postfix(
                        {k.split("/")[-1]: f"{v:.3f}" for k, v in scalars.items()} | {"it/s": f"{rate:.2f}"}
                    )
                if self.step % cfg.image_every == 0:
                    self._image_grid(self.last_batch)
                val = {}
                if self.step % cfg.val_every == 0 or self.step == max_steps:
                    val = self.validate()
                    if val:
                        self._log(val)
                if self.step % cfg.ckpt_every == 0 or self.step == max_steps:
                    self.save(val)
                if self.step >= max_steps:
                    break
                asked = time.perf_counter()
            else:
                # The epoch ran out: the next one starts from a new permutation.
                self.epoch += 1
                self.offset = 0
                continue
            break
        bar.close()
        if self.writer is not None:
            self.writer.flush()
        return {**last, **val}

    def close(self) -> None:
        """Release the TensorBoard writer and, under torchrun, the process group."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
