"""Personalised models: fitting one person's footage helps on that person's later frames, bad
footage is refused in one line with nothing written, and the shipped model is never touched."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.errors import ConfigError, InputError, OutputExistsError

CLIP = "dreamtalk_W011_front_happy_level3_001.mp4"  # mead_W011, a validation speaker
OPEN_PHOTO = "stargan-v2_006930.jpg"
NO_FACE = "liveportrait_s41.jpg"  # a cat
# A tiny recipe for tests: small batches, no VGG, a few steps: seconds on 2 cores.
FAST = ["train.batch_size=4", "losses.perceptual=0", "train.lr=0.0003", "train.ema_decay=0.5"]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def split_clip(tmp_path_factory, videos_dir):
    """The clip's first 60% of frames (for fitting) and its last 40% (held out), as videos."""
    from mouthsynth.io.video import VideoReader, VideoWriter

    folder = tmp_path_factory.mktemp("clip")
    with VideoReader(videos_dir / CLIP) as reader:
        frames = list(reader)
        fps, w, h = reader.fps, reader.width, reader.height
    cut = round(0.6 * len(frames))
    parts = {}
    for name, chunk in (("fit", frames[:cut]), ("held", frames[cut:])):
        writer = VideoWriter(folder / f"{name}.mp4", fps, w, h, crf=12)
        for frame in chunk:
            writer.write(frame)
        parts[name] = writer.close()
    return parts


@pytest.fixture(scope="module")
def personal(split_clip, tmp_path_factory):
    from mouthsynth.inference.synthesizer import default_model_path
    from mouthsynth.training.personalize import default_state_path, personalize

    shipped = [default_model_path(), *sorted(default_state_path().iterdir())]
    before = {p: _sha(p) for p in shipped}
    out = tmp_path_factory.mktemp("personal") / "person.onnx"
    result = personalize([split_clip["fit"]], out, minutes=None, steps=12, overrides=FAST, progress=False)
    assert {p: _sha(p) for p in shipped} == before, "the shipped model or state changed"
    return result


def test_fitting_improves_l1_on_held_out_frames(personal, split_clip, tmp_path):
    from mouthsynth.config import load_config
    from mouthsynth.data.prepare import prepare
    from mouthsynth.evaluation.evaluate import evaluate

    root = tmp_path / "held"
    prepare([split_clip["held"]], root, load_config(), progress=False)
    mine = evaluate([root], personal.model, [], None, None, blends=("alpha",))
    base = evaluate([root], None, [], None, None, blends=("alpha",))
    assert [s.id for s in mine.samples] == [s.id for s in base.samples] and len(mine.samples) >= 10
    l1_mine = np.mean(mine.per_sample["model"]["l1"])
    l1_base = np.mean(base.per_sample["model"]["l1"])
    assert l1_mine < l1_base, (l1_mine, l1_base)

    card = personal.card["personalised"]
    assert card["steps"] == personal.steps == 12
    assert card["frames_used"] == personal.frames >= 20
    assert card["sources"] == [str(split_clip["fit"])]
    assert card["base_model"]["sha256"] and card["backbone"] == "none"
    # Trained without a perceptual term (losses.perceptual=0): the card names no backbone.
    assert (personal.card["perceptual_net"], personal.card["perceptual_sha256"]) == (None, None)
    assert personal.card_path.is_file()


def test_personal_model_works_with_model_option(personal, photos_dir, tmp_path):
    out = tmp_path / "filled.png"
    run = CliRunner().invoke(
        app, ["inpaint", str(photos_dir / OPEN_PHOTO), "-o", str(out), "--model", str(personal.model)]
    )
    assert run.exit_code == 0, run.output
    assert out.is_file()


def test_synthesizer_personalize_returns_a_synthesizer_on_the_new_model(split_clip, photos_dir, tmp_path):
    from mouthsynth import MouthSynthesizer
    from mouthsynth.io.images import read_image

    out = tmp_path / "me.onnx"
    mine = MouthSynthesizer().personalize(split_clip["fit"], out, minutes=None, steps=1, overrides=FAST)
    assert mine.generator.path == out and out.is_file() and out.with_suffix(".json").is_file()
    assert mine(read_image(photos_dir / OPEN_PHOTO)).synthesised == 1


def _two_people(photos_dir, tmp_path):
    from mouthsynth.io.images import read_image, write_image

    a = read_image(photos_dir / OPEN_PHOTO)
    b = read_image(photos_dir / "stargan-v2_015248.jpg")
    side = min(a.shape[0], b.shape[0])
    both = np.concatenate([a[:side, :side], b[:side, :side]], axis=1)
    return write_image(tmp_path / "two.png", both)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no_face", "no face found"),
        ("few", "only 1 open-mouth frames (need at least 20)"),
        ("two", "more than one person"),
    ],
)
def test_bad_footage_is_refused_in_one_line_and_nothing_is_written(case, expected, photos_dir, tmp_path):
    inputs = {
        "no_face": [photos_dir / NO_FACE],
        "few": [photos_dir / OPEN_PHOTO],
        "two": [_two_people(photos_dir, tmp_path)],
    }[case]
    out = tmp_path / "out" / "person.onnx"
    run = CliRunner().invoke(app, ["personalize", *map(str, inputs), "-o", str(out), "--steps", "1"])
    assert run.exit_code == 1
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], run.output
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_refuses_the_shipped_model_existing_outputs_and_bad_budgets(photos_dir, tmp_path):
    from mouthsynth.inference.synthesizer import default_model_path
    from mouthsynth.training.personalize import personalize

    photo = [photos_dir / OPEN_PHOTO]
    with pytest.raises(ConfigError, match="shipped model"):
        personalize(photo, default_model_path(), overwrite=True)
    existing = tmp_path / "have.onnx"
    existing.write_bytes(b"mine")
    with pytest.raises(OutputExistsError):
        personalize(photo, existing)
    assert existing.read_bytes() == b"mine"
    with pytest.raises(ConfigError, match=".onnx"):
        personalize(photo, tmp_path / "x.pt")
    with pytest.raises(ConfigError, match="--minutes"):
        personalize(photo, tmp_path / "x.onnx", minutes=0)
    with pytest.raises(InputError, match="file not found"):
        personalize([tmp_path / "missing.mp4"], tmp_path / "x.onnx")


def test_recipe_config_follows_the_state_and_takes_overrides(tmp_path):
    from mouthsynth.training.personalize import default_state_path, recipe_config

    cfg = recipe_config(default_state_path(), ["train.lr=0.00005"])
    assert cfg.model.width == 1.0 and cfg.data.size == 128 and cfg.data.sizes == ""
    assert cfg.losses.perceptual_crop == "local" and cfg.losses.adv_global == 0
    assert cfg.train.lr == 5e-5
    own = tmp_path / "state"
    own.mkdir()
    (own / "config.yaml").write_text("model:\n  width: 0.5\n")
    assert recipe_config(own).model.width == 0.5
    with pytest.raises(ConfigError, match="unknown config key"):
        recipe_config(default_state_path(), ["train.nope=1"])


def test_inference_imports_no_torch():
    script = (
        "import sys\nfrom mouthsynth.inference.synthesizer import MouthSynthesizer\n"
        "assert hasattr(MouthSynthesizer, 'personalize')\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
