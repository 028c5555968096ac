"""Training that accumulates: the batch plan (identity balance, crop sides, exact resume), the
compact committed state, and `train --init-from` continuing it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.config import load_config
from mouthsynth.errors import ModelError
from mouthsynth.training.state import load_state, save_state, state_from_checkpoint
from mouthsynth.training.trainer import EpochBatches, Trainer, identity_weights

REPO = Path(__file__).resolve().parents[1]


def tiny(*overrides):
    return load_config(REPO / "configs" / "tiny.yaml", list(overrides))


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Every parameter and buffer equal, bit for bit."""
    return all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


def test_identity_balance_draws_people_not_frames():
    ids = ["video_person"] * 900 + [f"photo_{i}" for i in range(100)]
    weights = identity_weights(ids, 1.0)
    sampler = EpochBatches(len(ids), seed=0, batch_size=50, weights=weights)
    drawn = Counter(ids[i] for batch in sampler for i, _ in batch)
    share = drawn["video_person"] / sum(drawn.values())
    assert 0.0 < share < 0.05  # one person of 101, not 90% of the draws
    assert identity_weights(ids, 0.0) is None  # frame-uniform: a plain permutation
    plain = EpochBatches(len(ids), seed=0, batch_size=50)
    drawn = Counter(ids[i] for batch in plain for i, _ in batch)
    assert drawn["video_person"] == 900


def test_batch_plan_sizes_scale_the_batch_and_resume_exactly():
    sampler = EpochBatches(400, seed=1, epoch=2, batch_size=16, sizes=[64, 128], base_size=64)
    batches = list(sampler)
    sides = {b[0][1] for b in batches}
    assert sides == {64, 128}
    for batch in batches:
        side = batch[0][1]
        assert all(s == side for _, s in batch)
        assert len(batch) == (16 if side == 64 else 4)  # same pixels per step
    # Resuming after the first k batches replays exactly the rest.
    k = 5
    offset = sum(len(b) for b in batches[:k])
    resumed = list(
        EpochBatches(400, seed=1, epoch=2, start=offset, batch_size=16, sizes=[64, 128], base_size=64)
    )
    assert resumed == batches[k:]
    # Under DDP every rank gets the same number of batches at the same sides.
    ranks = [list(EpochBatches(400, 1, 2, 0, r, 2, 16, [64, 128], 64)) for r in range(2)]
    assert [b[0][1] for b in ranks[0]] == [b[0][1] for b in ranks[1]]
    assert not {i for b in ranks[0] for i, _ in b} & {i for b in ranks[1] for i, _ in b}


def test_state_round_trip_and_errors(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    folder = save_state(tmp_path / "state", {"generator": net}, {"step": 42})
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob(".old-*"))
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    info, loaded = load_state(folder, {"generator": other, "disc_global": torch.nn.Linear(2, 2)})
    assert info["step"] == 42 and loaded == ["generator"]
    assert same_weights(net, other)
    with pytest.raises(ModelError, match="do not fit"):
        load_state(folder, {"generator": torch.nn.Conv2d(3, 8, 3)})
    with pytest.raises(ModelError, match="not a training state"):
        load_state(tmp_path, {"generator": net})
    with pytest.raises(ValueError, match="step"):
        save_state(tmp_path / "bad", {"generator": net}, {})


def test_discriminators_are_stored_in_half_precision_and_load_back_as_float32(tmp_path):
    torch.manual_seed(0)
    gen = torch.nn.Conv2d(3, 4, 3)
    disc = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    folder = save_state(tmp_path / "state", {"generator": gen, "disc_local": disc}, {"step": 1})
    assert all(t.dtype == torch.float32 for t in load_file(str(folder / "generator.safetensors")).values())
    stored = load_file(str(folder / "disc_local.safetensors"))
    assert stored["0.weight"].dtype == torch.float16
    assert stored["1.num_batches_tracked"].dtype == torch.int64  # counters keep their type
    fresh = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    load_state(folder, {"generator": torch.nn.Conv2d(3, 4, 3), "disc_local": fresh})
    assert fresh[0].weight.dtype == torch.float32
    assert torch.allclose(fresh[0].weight, disc[0].weight, rtol=1e-3, atol=1e-6)


def test_init_from_continues_the_state_with_a_discriminator_warm_up(tiny_dataset, tmp_path):
    first = Trainer(tiny(), tiny_dataset, tmp_path / "first", progress=False)
    first.fit(3)
    # The compact state of the run's latest checkpoint, as `export --state-out` writes it.
    state = state_from_checkpoint(tmp_path / "first" / "checkpoints" / "step_0000003", tmp_path / "state")
    assert json.loads((state / "state.json").read_text())["step"] == 3
    assert {p.name for p in state.glob("*.safetensors")} == {
        "generator.safetensors",
        "generator_ema.safetensors",
        "disc_global.safetensors",
        "disc_local.safetensors",
    }
    # With its discriminators: continue at step 3, same weights, no discriminator warm-up.
    cont = Trainer(tiny(), tiny_dataset, tmp_path / "cont", progress=False, init_from=state)
    assert cont.step == 3 and cont.disc_warmup_until == 0
    # It draws on from where no earlier continuation drew: not epoch 0's batches once more.
    assert (cont.epoch, cont.offset) == (3, 0)
    continued = list(cont._loader().batch_sampler)
    cont.epoch = 0
    assert continued != list(cont._loader().batch_sampler)
    # A second continuation from the same state, after an unexported one, draws further on.
    again = Trainer(
        tiny("train.stream_offset=100"), tiny_dataset, tmp_path / "again", progress=False, init_from=state
    )
    assert (again.step, again.epoch) == (3, 103)
    assert same_weights(first.ema.model, cont.ema.model)
    # Without them (a state recovered from an export): fresh Ds train alone for a few steps.
    for name in ("disc_global", "disc_local"):
        (state / f"{name}.safetensors").unlink()
    warm = Trainer(
        tiny("train.disc_warmup_steps=2"), tiny_dataset, tmp_path / "warm", progress=False, init_from=state
    )
    assert warm.disc_warmup_until == 5
    warm.fit(6)
    log = [json.loads(line) for line in (tmp_path / "warm" / "metrics.jsonl").read_text().splitlines()]
    steps = {r["step"]: r for r in log if "d/global" in r or "g/total" in r}
    # The continuation first scores the state it starts from, on today's validation people.
    assert [r["step"] for r in log if "val/l1" in r][0] == 3
    assert "d/global" in steps[4] and "g/total" not in steps[4]  # D trains, G stands still
    assert "g/adv_global" in steps[6]


def test_a_continuation_ramps_its_learning_rates_from_the_restart(tiny_dataset, tmp_path):
    from mouthsynth.training.schedule import restart_ramp_scale

    assert restart_ramp_scale(1, 0) == 1.0 and restart_ramp_scale(5, 4) == 1.0
    first = Trainer(tiny(), tiny_dataset, tmp_path / "first", progress=False)
    first.fit(3)
    state = state_from_checkpoint(tmp_path / "first" / "checkpoints" / "step_0000003", tmp_path / "state")
    ramped = tiny("train.restart_ramp_steps=4", "train.lr=1e-3", "train.lr_d=5e-4")
    Trainer(ramped, tiny_dataset, tmp_path / "cont", progress=False, init_from=state).fit(5)
    # Resumed mid-ramp from its checkpoint, the run goes on up the same ramp.
    resumed = Trainer(ramped, tiny_dataset, tmp_path / "cont", progress=False, resume=True)
    assert resumed.restart_step == 3
    resumed.fit(9)
    log = [json.loads(line) for line in (tmp_path / "cont" / "metrics.jsonl").read_text().splitlines()]
    rates = {r["step"]: (r["lr/generator"], r["lr/disc_global"]) for r in log if "lr/generator" in r}
    for step, share in ((4, 0.25), (5, 0.5), (6, 0.75), (7, 1.0), (9, 1.0)):
        assert rates[step] == pytest.approx((1e-3 * share, 5e-4 * share)), step
    # A run from scratch has no restart to ramp from: the full rates at once.
    assert first.restart_step is None


def test_cli_init_from_with_a_time_budget(tiny_dataset, tmp_path):
    first = Trainer(tiny(), tiny_dataset, tmp_path / "first", progress=False)
    first.fit(3)
    state = state_from_checkpoint(tmp_path / "first" / "checkpoints" / "step_0000003", tmp_path / "state")
    result = CliRunner().invoke(
        app,
        [
            "train", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"),
            "--config", str(REPO / "configs" / "tiny.yaml"),
            "--init-from", str(state), "--max-minutes", "0",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = (tmp_path / "run" / "checkpoints" / "latest").read_text().strip()
    assert saved == "step_0000004"  # out of time after the first step: validated and saved
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "state.json").write_text(json.dumps({"step": 1}))
    save_file({"w": torch.zeros(1)}, str(broken / "generator.safetensors"))
    result = CliRunner().invoke(
        app,
        ["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "run2"),
         "--config", str(REPO / "configs" / "tiny.yaml"), "--init-from", str(broken)],
    )  # fmt: skip
    assert result.exit_code != 0 and "generator.safetensors" in result.output
    assert load_file(str(broken / "generator.safetensors"))["w"].shape == (1,)


def test_export_marks_the_state_it_ships(tiny_dataset, tmp_path):
    Trainer(tiny(), tiny_dataset, tmp_path / "run", progress=False).fit(2)
    checkpoint = tmp_path / "run" / "checkpoints" / "step_0000002"
    args = ["export", str(checkpoint), "-o", str(tmp_path / "m.onnx")]
    alone = CliRunner().invoke(app, [*args, "--shipped-note", "best on val"])
    assert alone.exit_code != 0 and "--state-out" in alone.output
    assert not (tmp_path / "m.onnx").exists()  # refused before any work
    result = CliRunner().invoke(
        app, [*args, "--state-out", str(tmp_path / "state"), "--shipped-note", "best on val"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "state" / "state.json").read_text())
    assert info["step"] == 2 and info["shipped_model_step"] == 2 and info["note"] == "best on val"
    assert json.loads((tmp_path / "m.json").read_text())["steps"] == 2
    # A state written without the note does not claim to be the shipped model's.
    plain = state_from_checkpoint(checkpoint, tmp_path / "plain")
    assert "shipped_model_step" not in json.loads((plain / "state.json").read_text())


def test_committed_default_state_fits_the_default_generator():
    from mouthsynth.nets.generator import build_generator

    cfg = load_config(REPO / "configs" / "train_default.yaml")
    G = build_generator(cfg.model)
    info, loaded = load_state(REPO / "src" / "mouthsynth" / "models" / "default_state", {"generator": G})
    assert info["step"] >= 1750 and "generator" in loaded
    # The state names the shipped ONNX model's step; it may have gone on past it, never before.
    card = json.loads((REPO / "src" / "mouthsynth" / "models" / "default.json").read_text())
    assert info["shipped_model_step"] == card["steps"] <= info["step"]
    size = sum(p.stat().st_size for p in (REPO / "src/mouthsynth/models/default_state").iterdir())
    assert size < 10e6  # the budget per committed update
    assert all(torch.isfinite(p.detach()).all() for p in G.parameters())


def test_multi_size_and_number_settings_are_checked():
    from mouthsynth.config import parse_sizes
    from mouthsynth.errors import ConfigError

    cfg = load_config(None, ["train.lr=3e-4", "data.sizes=128,192,256"])
    assert cfg.train.lr == 0.0003  # YAML 1.1 reads 3e-4 as a string
    assert parse_sizes(cfg.data) == [128, 192, 256] and parse_sizes(load_config().data) == [128]
    for bad in ("data.sizes=128,100", "data.sizes=big", "train.val_sizes=100", "data.identity_balance=2"):
        with pytest.raises(ConfigError, match=bad.split("=")[0]):
            load_config(None, [bad])


def test_video_share_splits_draws_between_videos_and_photos():
    # 2 video people (many frames) against 8 photo people: per person, video gets 1/5.
    ids = ["v0"] * 300 + ["v1"] * 100 + [f"p{i}" for i in range(8)]
    video = [i.startswith("v") for i in ids]
    per_person = identity_weights(ids, 1.0, video, 0.0)
    assert np.isclose(per_person[np.array(video)].sum(), 2 / 10)
    split = identity_weights(ids, 1.0, video, 0.5)
    assert np.isclose(split[np.array(video)].sum(), 0.5)
    # People stay balanced within each kind.
    assert np.isclose(split[:300].sum(), split[300:400].sum())
    assert np.allclose(split[400:], split[400])
    # One kind only: nothing to split.
    assert np.allclose(identity_weights(ids[:400], 1.0, video[:400], 0.5), identity_weights(ids[:400], 1.0))


def test_init_from_a_narrower_state_widens_the_encoder(tiny_dataset, tmp_path):
    first = Trainer(tiny(), tiny_dataset, tmp_path / "first", progress=False)
    first.fit(3)
    state = state_from_checkpoint(tmp_path / "first" / "checkpoints" / "step_0000003", tmp_path / "state")
    wide_cfg = tiny("model.expansion=8")
    wide = Trainer(wide_cfg, tiny_dataset, tmp_path / "wide", progress=False, init_from=state)
    assert wide.step == 3 and wide.disc_warmup_until == 0  # the discriminators fit as they were
    assert sum(p.numel() for p in wide.G.parameters()) > sum(p.numel() for p in first.G.parameters())
    x = torch.rand(2, 4, 64, 64) * 2 - 1
    first.ema.model.eval(), wide.ema.model.eval()
    with torch.no_grad():  # the same generator, with more hidden channels
        torch.testing.assert_close(
            wide.ema.model.generate(x), first.ema.model.generate(x), atol=1e-4, rtol=1e-3
        )
    wide.fit(4)
    assert (tmp_path / "wide" / "checkpoints" / "step_0000004").is_dir()
    # Exported, the model says its expansion, and the benchmark rebuilds the same network from it.
    from mouthsynth.evaluation.bench import model_info, onnx_architecture
    from mouthsynth.export.onnx_export import export_generator

    onnx_path = tmp_path / "wide.onnx"
    export_generator(wide.ema.model.eval(), wide_cfg, onnx_path, {})
    assert onnx_architecture(onnx_path) == {"width": 0.25, "expansion": 8.0}
    params = sum(p.numel() for p in wide.G.parameters())
    assert model_info(onnx_path, 64)["params"] == params
    # A smaller generator than the state's is an error naming the file.
    with pytest.raises(ModelError, match="generator.safetensors"):
        Trainer(tiny("model.expansion=2"), tiny_dataset, tmp_path / "small", progress=False, init_from=state)


def test_init_from_a_state_with_narrower_discriminators_warms_up_fresh_ones(tiny_dataset, tmp_path):
    first = Trainer(tiny(), tiny_dataset, tmp_path / "first", progress=False)
    first.fit(3)
    state = state_from_checkpoint(tmp_path / "first" / "checkpoints" / "step_0000003", tmp_path / "state")
    channels = first.cfg.model.disc_channels
    wide = Trainer(
        tiny(f"model.disc_channels={channels * 2}", "train.disc_warmup_steps=2"),
        tiny_dataset,
        tmp_path / "wide",
        progress=False,
        init_from=state,
    )
    # The generators continue; the discriminators of the other width start fresh and train alone.
    assert wide.init_info["loaded"] == ["generator", "generator_ema"]
    assert wide.step == 3 and wide.disc_warmup_until == 5
    assert same_weights(first.ema.model, wide.ema.model)
    assert sum(p.numel() for p in wide.Ds["global"].parameters()) > sum(
        p.numel() for p in first.Ds["global"].parameters()
    )
    # While they warm up the generator stands still; after it, it trains again.
    fresh_disc = {k: v.clone() for k, v in wide.Ds["local"].state_dict().items()}
    wide.fit(5)
    assert same_weights(first.G, wide.G)
    assert any(not torch.equal(fresh_disc[k], v) for k, v in wide.Ds["local"].state_dict().items())
    wide.fit(6)
    assert not same_weights(first.G, wide.G)
    # The older recipe, reconstruction losses alone during the warm-up, stays a setting.
    moving = Trainer(
        tiny(
            f"model.disc_channels={channels * 2}",
            "train.disc_warmup_steps=2",
            "train.disc_warmup_frozen_generator=false",
        ),
        tiny_dataset,
        tmp_path / "moving",
        progress=False,
        init_from=state,
    )
    moving.fit(4)
    assert not same_weights(first.G, moving.G)
