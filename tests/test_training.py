"""Tiny GAN training runs on a real prepared dataset: checkpoints, exact resume, learning."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.config import load_config
from mouthsynth.errors import ConfigError, InputError
from mouthsynth.export.onnx_export import model_card
from mouthsynth.training import checkpoint as ckpt
from mouthsynth.training.state import state_from_checkpoint
from mouthsynth.training.trainer import Trainer, bf16_native

REPO = Path(__file__).resolve().parents[1]


def tiny(*overrides):
    return load_config(REPO / "configs" / "tiny.yaml", list(overrides))


def test_checkpoint_and_exact_resume(tiny_dataset, tmp_path):
    # Uninterrupted: 6 steps.
    full = Trainer(tiny(), tiny_dataset, tmp_path / "full", progress=False)
    full.fit(6)
    # Interrupted after 3, resumed to 6.
    first = Trainer(tiny(), tiny_dataset, tmp_path / "split", progress=False)
    first.fit(3)
    saved = ckpt.latest_checkpoint(tmp_path / "split")
    assert saved is not None and saved.name == "step_0000003"
    for name in ("generator", "generator_ema", "disc_global", "disc_local"):
        assert (saved / f"{name}.safetensors").is_file()
    resumed = Trainer(tiny(), tiny_dataset, tmp_path / "split", progress=False, resume=True)
    assert resumed.step == 3
    # Identical optimiser state after loading.
    for key, opt in first._optimizers().items():
        states = zip(
            opt.state_dict()["state"].values(),
            resumed._optimizers()[key].state_dict()["state"].values(),
            strict=True,
        )
        for a, b in states:
            assert torch.equal(a["step"], b["step"]), key
            assert torch.equal(a["exp_avg"], b["exp_avg"]) and torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
    resumed.fit(6)
    for (k, p), q in zip(full.G.state_dict().items(), resumed.G.state_dict().values(), strict=True):
        assert torch.allclose(p.float(), q.float(), atol=1e-5), k
    log = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    log_split = [json.loads(line) for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in log if r["step"] == 6 and "g/total" in r][0]
    last_split = [r for r in log_split if r["step"] == 6 and "g/total" in r][0]
    assert last["g/total"] == pytest.approx(last_split["g/total"], rel=1e-4)
    # The share of wall time spent waiting for the loader, logged beside the step rate.
    assert all(0 <= r["speed/data_wait_share"] <= 1 for r in log if "g/total" in r)
    # Adversarial terms switched on after the warm-up (2 steps in tiny.yaml).
    assert "g/adv_global" in last and "d/local" in last
    first_log = [r for r in log if r["step"] == 1 and "g/total" in r][0]
    assert "g/adv_global" not in first_log
    # The best checkpoint by validation, with the metric that chose it.
    best = json.loads((tmp_path / "full" / "checkpoints" / "best" / "best.json").read_text())
    assert best["metric"] == "val/l1" and best["from"] in ("step_0000003", "step_0000006")
    # The resolved config is in the run folder.
    assert load_config(tmp_path / "full" / "config.yaml").model.width == 0.25


def test_overfitting_eight_samples_with_l1_halves_the_error(tiny_dataset, tmp_path):
    cfg = tiny(
        "losses.adv_global=0",
        "losses.adv_local=0",
        "losses.fm_global=0",
        "losses.fm_local=0",
        "model.width=0.5",
        "train.batch_size=8",
        "train.lr=0.003",
        "train.ema_decay=0",
        "train.val_every=1000",
        "train.ckpt_every=1000",
        "data.flip=false",
        "data.scale_jitter=0",
        "data.rotate_deg=0",
        "data.translate=0",
        "data.color_jitter=0",
        "data.mask_dilate_max=0",
    )
    trainer = Trainer(cfg, tiny_dataset, tmp_path / "run", progress=False)
    assert trainer.Ds == {} and trainer.perceptual is None  # nothing built for switched-off terms
    trainer.train_set.records = trainer.train_set.records[:8]
    batch = {
        k: torch.stack([trainer.train_set[i][k] for i in range(8)])
        for k in ("input", "image", "mask", "boundary", "local_box")
    }

    def masked_l1() -> float:
        trainer.G.eval()
        with torch.no_grad():
            fake = trainer.G(batch["input"])
        return float(((fake - batch["image"]).abs() * batch["mask"]).sum() / (batch["mask"].sum() * 3))

    before = masked_l1()
    for _ in range(60):
        trainer.train_step(dict(batch))
    after = masked_l1()
    assert after <= 0.5 * before, (before, after)


def test_an_interrupted_save_leaves_the_previous_checkpoint_intact(tiny_dataset, tmp_path):
    trainer = Trainer(tiny(), tiny_dataset, tmp_path / "run", progress=False)
    trainer.fit(3)
    good = ckpt.latest_checkpoint(tmp_path / "run")
    with pytest.raises(RuntimeError, match="simulated crash"):
        ckpt.save_checkpoint(
            tmp_path / "run",
            4,
            trainer._modules(),
            trainer._optimizers(),
            {"epoch": 0, "offset": 0},
            "",
            fail_after="generator_ema",
        )
    root = tmp_path / "run" / "checkpoints"
    assert ckpt.latest_checkpoint(tmp_path / "run") == good
    assert not any(p.name.startswith(".tmp") for p in root.iterdir())
    assert not (root / "step_0000004").exists()
    Trainer(tiny(), tiny_dataset, tmp_path / "run", progress=False, resume=True)  # still loads


def test_perceptual_records_its_backbone(tiny_dataset, tmp_path):
    trainer = Trainer(
        tiny("losses.perceptual=1", "losses.perceptual_net=vgg16"),
        tiny_dataset,
        tmp_path / "run",
        progress=False,
    )
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["perceptual_net"] == "vgg16" and len(info["perceptual_sha256"]) == 64
    assert "vgg16" in (tmp_path / "run" / "config.yaml").read_text()
    assert trainer.perceptual is not None
    # A checkpoint copied out of its run folder, and its compact state, still name the backbone
    # in the exported card (the shipped card once said null for a copied checkpoint).
    saved = trainer.save()
    moved = shutil.copytree(saved, tmp_path / "moved")
    state = state_from_checkpoint(moved, tmp_path / "state")
    for folder in (moved, state):
        card = model_card(trainer.cfg, folder)
        assert (card["perceptual_net"], card["perceptual_sha256"]) == ("vgg16", info["perceptual_sha256"])
    # A checkpoint from before checkpoints named it, in its run folder: the state that
    # `export --state-out` writes takes the backbone from the card.
    meta = json.loads((saved / "state.json").read_text())
    del meta["perceptual_net"], meta["perceptual_sha256"]
    (saved / "state.json").write_text(json.dumps(meta))
    args = ["export", str(saved), "-o", str(tmp_path / "m.onnx"), "--state-out", str(tmp_path / "shipped")]
    result = CliRunner().invoke(app, [*args, "--shipped-note", "best on val"])
    assert result.exit_code == 0, result.output
    shipped = json.loads((tmp_path / "shipped" / "state.json").read_text())
    assert (shipped["perceptual_net"], shipped["shipped_model_step"]) == ("vgg16", meta["step"])


def test_cli_rejects_bad_config_keys_and_values(tiny_dataset, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "r"), "--set", "train.lrr=1"]
    )
    assert result.exit_code == 1 and "train.lrr" in result.output
    result = runner.invoke(
        app, ["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "r"), "--set", "train.lr=fast"]
    )
    assert result.exit_code == 1 and "train.lr" in result.output
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(tiny_dataset),
            "--out",
            str(tmp_path / "r"),
            "--config",
            str(REPO / "configs" / "tiny.yaml"),
            "--max-steps",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "checkpoints" / "latest").is_file()


def test_too_small_a_dataset_or_a_bad_device_fails_at_start(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match="train.batch_size"):
        Trainer(tiny("train.batch_size=100000"), tiny_dataset, tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="--device"):
        Trainer(tiny(), tiny_dataset, tmp_path / "b", device="gpu", progress=False)


@pytest.mark.parametrize("second_view", ["jitter", "next frame"])
def test_the_temporal_term_trains_on_a_second_view(tiny_dataset, tmp_path, second_view):
    # The tiny dataset keeps every 3rd video frame.
    extra = ["data.pair_next_frame=1.0", "data.pair_next_gap=3"] if second_view == "next frame" else []
    trainer = Trainer(tiny("losses.temporal=2.0", *extra), tiny_dataset, tmp_path / "run", progress=False)
    assert bool(trainer.train_set._next) == (second_view == "next frame")
    trainer.fit(3)
    assert "fake2" in trainer.last_batch and "theta" in trainer.last_batch
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in log if "g/temporal" in r]
    assert steps and all(0 < r["g/temporal"] < 2 for r in steps)
    # Off by default: no second view is made.
    plain = Trainer(tiny(), tiny_dataset, tmp_path / "plain", progress=False)
    plain.fit(1)
    assert "fake2" not in plain.last_batch


def test_validation_measures_the_ema_generators_own_batchnorm_statistics(tiny_dataset, tmp_path):
    trainer = Trainer(tiny(), tiny_dataset, tmp_path / "run", progress=False)
    trainer.fit(2)
    norms = [m for m in trainer.ema.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]

    def copy_live_statistics():  # what EMA.update does to the buffers at every step
        with torch.no_grad():
            for ema_b, b in zip(trainer.ema.model.buffers(), trainer.G.buffers(), strict=True):
                ema_b.copy_(b)

    copy_live_statistics()
    copied = [m.running_var.clone() for m in norms]
    first = trainer.validate()
    measured = [m.running_var.clone() for m in norms]
    assert any(not torch.allclose(a, b) for a, b in zip(copied, measured, strict=True))
    # The same fixed batches every time: the figure no longer depends on the last batches seen.
    copy_live_statistics()
    second = trainer.validate()
    assert second["val/l1"] == pytest.approx(first["val/l1"], rel=1e-6)
    for a, b in zip(measured, [m.running_var for m in norms], strict=True):
        assert torch.allclose(a, b)
    # Off: the copied statistics stay.
    trainer.cfg.train.bn_batches = 0
    copy_live_statistics()
    trainer.validate()
    for a, b in zip(copied, [m.running_var for m in norms], strict=True):
        assert torch.equal(a, b)


def test_batchnorm_statistics_can_be_measured_on_the_crops_inference_cuts(tiny_dataset, tmp_path):
    from mouthsynth.data.dataset import MouthDataset

    def first_batch(*overrides):
        trainer = Trainer(tiny(*overrides), tiny_dataset, tmp_path / "run", progress=False)
        return trainer, next(iter(trainer._bn_batches()))

    _, augmented = first_batch()
    trainer, plain = first_batch("train.bn_augment=false")
    cfg = trainer.cfg
    unaugmented = MouthDataset(tiny_dataset, "train", cfg.data.size, cfg.data, cfg.geometry, False)
    sides = {x.shape[-1] for x in (augmented, plain)}
    assert len(sides) == 1  # the same draw of crop side and samples, only the augmentation differs
    # Each input of the plain batch is one the dataset cuts without augmentation, at that side.
    side = plain.shape[-1]
    crops = torch.stack([unaugmented[(i, side)]["input"] for i in range(len(unaugmented))])
    for x in plain:
        assert (crops - x).abs().flatten(1).amax(1).min() < 1e-6
    assert any((crops - x).abs().flatten(1).amax(1).min() > 1e-3 for x in augmented)


def _signal_at(trainer, step, *signals):
    """Make ``trainer`` receive ``signals`` during its step ``step``."""
    import os
    import signal

    train_step = trainer.train_step

    def step_and_signal(batch):
        out = train_step(batch)
        if trainer.step == step:
            for sig in signals:
                os.kill(os.getpid(), getattr(signal, sig))
        return out

    trainer.train_step = step_and_signal


def test_sigterm_stops_after_the_step_with_a_validated_checkpoint(tiny_dataset, tmp_path):
    import signal

    before = signal.getsignal(signal.SIGTERM)
    trainer = Trainer(
        tiny("train.val_every=100", "train.ckpt_every=100"), tiny_dataset, tmp_path / "run", progress=False
    )
    _signal_at(trainer, 2, "SIGTERM")
    trainer.fit(50)
    assert trainer.step == 2
    saved = ckpt.latest_checkpoint(tmp_path / "run")
    assert saved is not None and saved.name == "step_0000002"
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any(r["step"] == 2 and "val/l1" in r for r in log)
    assert signal.getsignal(signal.SIGTERM) is before  # the trainer's handler is gone
    resumed = Trainer(tiny(), tiny_dataset, tmp_path / "run", progress=False, resume=True)
    assert resumed.step == 2


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tiny_dataset, tmp_path):
    trainer = Trainer(tiny("train.ckpt_every=2"), tiny_dataset, tmp_path / "run", progress=False)
    _signal_at(trainer, 3, "SIGINT", "SIGINT")
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(50)
    saved = ckpt.latest_checkpoint(tmp_path / "run")
    assert saved is not None and saved.name == "step_0000002"
    assert not any(p.name.startswith(".tmp") for p in (tmp_path / "run" / "checkpoints").iterdir())


def test_a_second_ctrl_c_stops_a_background_run_too(tiny_dataset, tmp_path):
    # `nohup mouthsynth train ... &` starts with SIGINT ignored; the first kill -INT still stops
    # after the step, and the second must not fall back to "ignored".
    import signal

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        trainer = Trainer(tiny("train.ckpt_every=2"), tiny_dataset, tmp_path / "run", progress=False)
        _signal_at(trainer, 3, "SIGINT", "SIGINT")
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(50)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # restored as it was
    finally:
        signal.signal(signal.SIGINT, before)
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step_0000002"


def test_loader_workers_survive_a_signal_to_the_whole_process_group(tiny_dataset, tmp_path):
    # Ctrl-C (and a cluster's SIGTERM) reaches the workers too; they must leave stopping to the
    # main process, or the next batch fails with "DataLoader worker ... is killed by signal".
    import signal

    trainer = Trainer(tiny("train.num_workers=1"), tiny_dataset, tmp_path / "run", progress=False)
    batches = iter(trainer._loader())
    next(batches)
    for worker in batches._workers:
        os.kill(worker.pid, signal.SIGTERM)
        os.kill(worker.pid, signal.SIGINT)
    time.sleep(0.5)
    assert all(worker.is_alive() for worker in batches._workers)
    assert next(batches)["input"].ndim == 4


def test_anneal_lowers_the_learning_rates_over_the_last_share_of_a_run(tiny_dataset, tmp_path):
    from mouthsynth.training.schedule import anneal_scale

    assert anneal_scale(0.3, 0.0, 0.1) == 1.0  # off
    assert anneal_scale(0.5, 0.5, 0.1) == 1.0  # not yet
    assert anneal_scale(0.75, 0.5, 0.1) == pytest.approx(0.55)  # half-way down the cosine
    assert anneal_scale(1.0, 0.5, 0.1) == pytest.approx(0.1)
    trainer = Trainer(
        tiny("train.anneal_fraction=0.5", "train.anneal_floor=0.2", "train.lr=1e-3", "train.lr_d=5e-4"),
        tiny_dataset,
        tmp_path / "run",
        progress=False,
    )
    trainer.fit(6)
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    rates = {r["step"]: (r["lr/generator"], r["lr/disc_global"]) for r in log if "lr/generator" in r}
    # Steps 1-3 (progress 1/6-3/6) run at the set rates, steps 4-6 down the cosine to the floor.
    for step in (1, 2, 3):
        assert rates[step] == pytest.approx((1e-3, 5e-4))
    assert rates[5][0] == pytest.approx(1e-3 * anneal_scale(5 / 6, 0.5, 0.2))
    assert rates[6][0] == pytest.approx(1e-3 * 0.2)
    assert rates[6][0] < rates[5][0] < rates[4][0] < 1e-3
    assert rates[6][1] / 5e-4 == pytest.approx(rates[6][0] / 1e-3)
    with pytest.raises(ConfigError, match="train.anneal_fraction"):
        tiny("train.anneal_fraction=1.5")


def test_bf16_autocast_where_the_cpu_computes_in_bf16(tiny_dataset, tmp_path):
    """``train.amp`` autocasts to bf16 on CUDA and on CPUs with native bf16 (0.60x the fp32 step
    on an AVX512-BF16 EPYC, benchmarks/train_step.py); the run records which it got."""
    native = bf16_native(torch.device("cpu"))
    for amp in (True, False):
        trainer = Trainer(
            tiny(f"train.amp={str(amp).lower()}"), tiny_dataset, tmp_path / str(amp), progress=False
        )
        assert trainer.use_amp == (amp and native)
        info = json.loads((tmp_path / str(amp) / "run.json").read_text())
        assert info["bf16_autocast"] == trainer.use_amp and info["device"] == "cpu"
        conv = torch.nn.Conv2d(3, 4, 3)
        with trainer.autocast():
            out = conv(torch.rand(1, 3, 8, 8))
        assert out.dtype == (torch.bfloat16 if trainer.use_amp else torch.float32)
        trainer.close()
    # The recipe's combination (bf16, channels-last) trains past the adversarial warm-up and
    # writes a checkpoint that resumes.
    cfg = tiny("train.amp=true", "train.channels_last=true")
    Trainer(cfg, tiny_dataset, tmp_path / "cl", progress=False).fit(3)
    resumed = Trainer(cfg, tiny_dataset, tmp_path / "cl", progress=False, resume=True)
    assert resumed.step == 3 and next(resumed.G.parameters()).is_contiguous(memory_format=torch.channels_last)
    log = [json.loads(line) for line in (tmp_path / "cl" / "metrics.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["g/total"])) for r in log if "g/total" in r)
