"""Inference on real photos with a tiny untrained generator: only the feathered interior of open
mouths changes (alpha and Poisson blends, user masks), closed mouths are left and reported,
ONNX and torch agree, the ONNX path never imports torch, and `inpaint` handles folders, bad files
and existing outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mouthsynth.config import Config
from mouthsynth.errors import ConfigError, InputError, ModelError
from mouthsynth.geometry import cut_mouth
from mouthsynth.inference.onnx_generator import OnnxGenerator
from mouthsynth.inference.packing import to_network_input
from mouthsynth.inference.synthesizer import MouthSynthesizer, default_model_path
from mouthsynth.io.images import read_image, write_image

SIZE = 64  # crop side of the tiny model
OPEN_PHOTOS = ["stargan-v2_006930.jpg", "face_recognition_obama.jpg", "insightface_group_t1.jpg"]
CLOSED_PHOTO = "face_recognition_obama3.jpg"


def build_tiny_model(root: Path) -> tuple[Path, Path]:
    """An untrained width-0.25 generator as a checkpoint folder (safetensors + config.yaml) and
    as ONNX. Its BatchNorm statistics are randomised so the weights loaded really matter."""
    import torch
    from safetensors.torch import save_file

    from mouthsynth.export.onnx_export import export_onnx
    from mouthsynth.nets.generator import MobileNetUNet

    torch.manual_seed(0)
    net = MobileNetUNet(width=0.25)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    cfg = Config()
    cfg.model.width, cfg.data.size = 0.25, SIZE
    checkpoint = root / "checkpoint"
    checkpoint.mkdir()
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(checkpoint / "generator_ema.safetensors"))
    (checkpoint / "config.yaml").write_text(cfg.to_yaml())
    onnx_path = root / "tiny.onnx"
    metadata = {"mouthsynth.crop_size": str(SIZE), "mouthsynth.card": json.dumps({"name": "tiny test"})}
    export_onnx(net, onnx_path, SIZE, metadata)
    return onnx_path, checkpoint


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> tuple[Path, Path]:
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="module")
def synth(tiny_model) -> MouthSynthesizer:
    return MouthSynthesizer(tiny_model[0])


@pytest.fixture(scope="module")
def photo(photos_dir):
    cache: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = read_image(photos_dir / name)
        return cache[name]

    return load


def _assert_only_inside(output: np.ndarray, image: np.ndarray, mask: np.ndarray) -> None:
    changed = (output != image).any(axis=2)
    assert not (changed & (mask <= 0)).any(), "a pixel outside the mask changed"


# --- the Python API ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPEN_PHOTOS)
def test_only_open_mouth_interiors_change(synth, photo, name):
    image = photo(name)
    before = image.copy()
    result = synth(image)
    assert np.array_equal(image, before), "the input array must not be modified"
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert result.synthesised >= 1
    _assert_only_inside(result.image, image, result.mask)
    union = np.zeros(image.shape[:2], np.float32)
    for face in result.faces:
        assert face.mask.shape == image.shape[:2]
        assert face.box.shape == (4, 2)
        union = np.maximum(union, face.mask)
        if not face.synthesised:
            assert face.reason == "mouth closed" and not face.mask.any()
            continue
        inside = face.mask > 0.9
        assert inside.sum() > 20
        # The generator painted something: the interior is no longer the white fill...
        assert np.abs(result.image[inside].astype(int) - result.white_filled[inside]).max() > 30
        assert (result.white_filled[inside] > 200).all()
        # ...and its pixels did change.
        assert (result.image[inside] != image[inside]).any()
        x0, y0, x1, y1 = face.zoom_box(image.shape)
        assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
        assert x1 - x0 == y1 - y0
        assert x0 <= face.box[:, 0].mean() <= x1 and y0 <= face.box[:, 1].mean() <= y1
    np.testing.assert_array_equal(result.mask, union)
    # The white-filled picture changes exactly where the output may change.
    _assert_only_inside(result.white_filled, image, result.mask)


def test_group_photo_fills_several_faces_and_reports_closed_ones(synth, photo):
    result = synth(photo("insightface_group_t1.jpg"))
    assert len(result.faces) == 6
    assert 2 <= result.synthesised < 6
    for face in result.faces:
        assert face.synthesised == (face.mouth_open >= synth.cfg.geometry.min_open)


def test_closed_mouth_is_left_unchanged_and_reported(synth, photo):
    image = photo(CLOSED_PHOTO)
    result = synth(image)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert not face.synthesised and face.reason == "mouth closed"
    assert face.mouth_open < synth.cfg.geometry.min_open
    assert np.array_equal(result.image, image)
    assert not result.mask.any()


def test_poisson_blend_changes_only_the_feathered_interior(synth, tiny_model, photo):
    image = photo("stargan-v2_006930.jpg")
    poisson = MouthSynthesizer(tiny_model[0], blend="poisson", landmarks=synth.landmarks)(image)
    alpha = MouthSynthesizer(tiny_model[0], blend="alpha", landmarks=synth.landmarks)(image)
    assert synth.cfg.inference.blend == "alpha", "the alpha blend is the default paste-back"
    np.testing.assert_array_equal(synth(image).image, alpha.image)
    assert poisson.synthesised == 1
    _assert_only_inside(poisson.image, image, poisson.mask)
    np.testing.assert_array_equal(poisson.mask, alpha.mask)
    assert (poisson.image != alpha.image).any(), "Poisson blending should differ from the alpha blend"


def test_user_mask_changes_only_pixels_inside_it(synth, photo):
    image = photo("stargan-v2_006930.jpg")
    lips = synth(image).faces[0].landmarks.inner_lip
    mask = np.zeros(image.shape[:2], np.uint8)
    # A user region unlike the inner lips: an ellipse over the left half of the mouth.
    centre = lips.mean(0) - [0.25 * np.ptp(lips[:, 0]), 0]
    axes = (int(np.ptp(lips[:, 0]) * 0.3), int(max(np.ptp(lips[:, 1]) * 0.4, 4)))
    cv2.ellipse(mask, tuple(int(v) for v in centre), axes, 0, 0, 360, 255, -1)
    result = synth(image, mask=mask)
    assert result.synthesised == 1
    _assert_only_inside(result.image, image, mask.astype(np.float32))
    assert not result.mask[mask == 0].any()
    assert (result.image[mask > 0] != image[mask > 0]).any()


def test_user_mask_without_a_face_centres_the_crop_on_it(synth):
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (0, 0), 3)
    mask = np.zeros(image.shape[:2], np.float32)
    cv2.ellipse(mask, (200, 90), (30, 12), 0, 0, 360, 1.0, -1)
    result = synth(image, mask=mask)
    assert len(result.faces) == 1 and result.synthesised == 1
    _assert_only_inside(result.image, image, mask)
    assert (result.image[mask > 0] != image[mask > 0]).any()
    centre = result.faces[0].box.mean(0)
    assert abs(centre[0] - 200) < 3 and abs(centre[1] - 90) < 3


def test_bad_arrays_and_masks_are_refused(synth, photo):
    image = photo("face_recognition_obama.jpg")
    with pytest.raises(InputError, match="RGB uint8"):
        synth(image.astype(np.float32))
    with pytest.raises(InputError, match="does not match the image"):
        synth(image, mask=np.ones((10, 10), np.uint8))
    with pytest.raises(InputError, match="mask is empty"):
        synth(image, mask=np.zeros(image.shape[:2], np.uint8))


def test_onnx_and_torch_agree_on_a_real_crop(tiny_model, synth, photo):
    from mouthsynth.inference.torch_generator import TorchGenerator

    onnx_path, checkpoint = tiny_model
    image = photo("stargan-v2_006930.jpg")
    face = synth.landmarks.detect(image)[0]
    crops = [cut_mouth(image, face, SIZE, synth.cfg.geometry)]
    batch = to_network_input(np.stack([c.white_filled for c in crops]), np.stack([c.mask for c in crops]))
    onnx_out = OnnxGenerator(onnx_path)(batch)
    torch_gen = TorchGenerator(checkpoint)
    torch_out = torch_gen(batch)
    assert torch_gen.crop_size == SIZE
    assert np.abs(onnx_out - torch_out).max() < 1e-3
    # Through the whole pipeline the two backends give the same picture, up to rounding.
    via_torch = MouthSynthesizer(checkpoint, backend="torch", landmarks=synth.landmarks)(image)
    via_onnx = synth(image)
    np.testing.assert_array_equal(via_torch.mask, via_onnx.mask)
    assert np.abs(via_torch.image.astype(int) - via_onnx.image).max() <= 2
    # A bare .safetensors file with config.yaml beside it loads too.
    assert np.abs(TorchGenerator(checkpoint / "generator_ema.safetensors")(batch) - torch_out).max() == 0


def test_onnx_image_path_never_imports_torch(tiny_model, photos_dir, tmp_path):
    script = f"""
import sys
import numpy as np
from typer.testing import CliRunner
import typer
from mouthsynth import MouthSynthesizer
from mouthsynth.io.images import read_image
from mouthsynth.cli.inpaint import command

result = MouthSynthesizer({str(tiny_model[0])!r})(read_image({str(photos_dir / OPEN_PHOTOS[0])!r}))
assert result.synthesised == 1
app = typer.Typer()
app.command()(command)
run = CliRunner().invoke(app, [{str(photos_dir / OPEN_PHOTOS[1])!r}, "-o", {str(tmp_path / "o.png")!r},
                               "--model", {str(tiny_model[0])!r}])
assert run.exit_code == 0, run.output
print("torch loaded" if "torch" in sys.modules else "torch-free")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("torch-free")
    assert (tmp_path / "o.png").is_file()


def test_default_model_is_found_or_clearly_missing():
    try:
        path = default_model_path()
    except ModelError as exc:
        assert "default model is missing" in str(exc)
    else:
        assert path.name == "default.onnx" and path.is_file()


def test_bad_model_files_get_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        MouthSynthesizer(tmp_path / "none.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07not a protobuf")
    with pytest.raises(ModelError, match="corrupt.onnx: not a valid ONNX model"):
        MouthSynthesizer(corrupt)
    with pytest.raises(ModelError, match="no generator weights"):
        MouthSynthesizer(tmp_path, backend="torch")
    with pytest.raises(ModelError, match="unknown backend"):
        MouthSynthesizer(corrupt, backend="tflite")


# --- the inpaint command -----------------------------------------------------------------------


def _inpaint(*args: str):
    from mouthsynth.cli.inpaint import command

    app = typer.Typer()
    app.command()(command)
    return CliRunner().invoke(app, [str(a) for a in args])


def test_folder_with_a_corrupt_file_processes_the_rest(tiny_model, photos_dir, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.png").write_bytes((photos_dir / OPEN_PHOTOS[1]).read_bytes())
    write_image(src / "sub" / "b.png", read_image(photos_dir / OPEN_PHOTOS[0]))
    (src / "sub" / "closed.jpg").write_bytes((photos_dir / CLOSED_PHOTO).read_bytes())
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    out = tmp_path / "out"
    result = _inpaint(src, "-o", out, "--model", tiny_model[0])
    assert result.exit_code == 1, result.output
    assert (out / "a.png").is_file() and (out / "sub" / "b.png").is_file()
    assert not (out / "broken.jpg").exists() and not (out / "sub" / "closed.jpg").exists()
    lines = result.output.splitlines()
    assert sum("broken.jpg" in line and "error" in line for line in lines) == 1
    assert any("closed.jpg: mouth closed" in line for line in lines)
    assert "2 processed, 2 skipped" in result.output
    # The written file is the synthesised picture: changed, and only around the mouth.
    original, written = read_image(src / "a.png"), read_image(out / "a.png")
    changed = (original != written).any(axis=2)
    assert 0 < changed.sum() < 0.02 * changed.size


def test_existing_output_is_not_overwritten(tiny_model, photos_dir, tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"keep me")
    result = _inpaint(photos_dir / OPEN_PHOTOS[1], "-o", target, "--model", tiny_model[0])
    assert result.exit_code == 1
    assert "out.png: output exists" in result.output
    assert target.read_bytes() == b"keep me"
    result = _inpaint(photos_dir / OPEN_PHOTOS[1], "-o", target, "--model", tiny_model[0], "--overwrite")
    assert result.exit_code == 0, result.output
    assert read_image(target).shape == (1137, 910, 3)


def test_cli_mask_and_poisson(tiny_model, photos_dir, tmp_path, synth):
    source = photos_dir / "stargan-v2_006930.jpg"
    image = read_image(source)
    lips = synth(image).faces[0].landmarks.inner_lip
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(lips).astype(np.int32)], 255)
    write_image(tmp_path / "mask.png", np.repeat(mask[..., None], 3, 2))
    out = tmp_path / "masked.png"
    result = _inpaint(
        source, "-o", out, "--model", tiny_model[0], "--mask", tmp_path / "mask.png", "--blend", "poisson"
    )
    assert result.exit_code == 0, result.output
    written = read_image(out)
    _assert_only_inside(written, image, mask.astype(np.float32))
    assert (written[mask > 0] != image[mask > 0]).any()
    # A mask for several inputs, a mask of the wrong size, an unknown blend: one line, exit 1.
    bad = _inpaint(
        source, source, "-o", tmp_path / "x", "--model", tiny_model[0], "--mask", tmp_path / "mask.png"
    )
    assert bad.exit_code == 1 and "exactly one input" in bad.output
    write_image(tmp_path / "small.png", np.zeros((8, 8, 3), np.uint8))
    bad = _inpaint(
        source, "-o", tmp_path / "y.png", "--model", tiny_model[0], "--mask", tmp_path / "small.png"
    )
    assert bad.exit_code == 1 and "small.png: mask of 8x8 does not match" in bad.output
    bad = _inpaint(source, "-o", tmp_path / "z.png", "--model", tiny_model[0], "--blend", "smear")
    assert bad.exit_code == 1 and "--blend" in bad.output
    with pytest.raises(ConfigError, match="smear"):
        MouthSynthesizer(tiny_model[0], blend="smear")


def test_missing_model_is_one_line(photos_dir, tmp_path):
    result = _inpaint(photos_dir / OPEN_PHOTOS[1], "-o", tmp_path / "o.png", "--model", tmp_path / "no.onnx")
    assert result.exit_code == 1
    assert "no.onnx: model file not found" in result.output
    assert "Traceback" not in result.output


def test_large_mouths_are_cut_at_their_own_resolution(tiny_model, photo, tmp_path):
    """A model trained at several sides runs each mouth at its global crop's own side (up to the
    largest it was trained at): a 1024-px portrait gets more than the base side."""
    from mouthsynth.export.onnx_export import export_onnx
    from mouthsynth.inference.torch_generator import load_generator

    net, _ = load_generator(tiny_model[1])
    path = tmp_path / "multi.onnx"
    export_onnx(net, path, SIZE, {"mouthsynth.crop_size": str(SIZE), "mouthsynth.max_crop_size": "160"})
    own_side = Config()
    own_side.inference.min_crop_size = 0
    synth = MouthSynthesizer(path, config=own_side)
    image = photo("stargan-v2_006930.jpg")  # 1024 px, a wide smile
    face = synth.landmarks.detect(image)[0]
    side = synth.crop_side(face.outer_lip)
    assert side == 160 and synth.max_size == 160
    assert synth.crop_side(face.outer_lip * 0.1) == SIZE  # a tiny mouth: never below the base side
    assert synth.crop_side(face.outer_lip * 0.3) % 32 == 0
    floor = Config()
    floor.inference.min_crop_size = 128
    floored = MouthSynthesizer(path, config=floor)
    assert floored.crop_side(face.outer_lip * 0.1) == 128  # enlarged to the configured floor
    assert floored.crop_side(face.outer_lip) == 160  # a large mouth keeps its own side
    assert floored.video_crop_side(face.outer_lip * 0.1) == 128  # video's cap (128) still rules
    assert MouthSynthesizer(path).crop_side(face.outer_lip * 0.1) == 160  # default floor, capped
    result = synth(image)
    assert result.synthesised == 1
    _assert_only_inside(result.image, image, result.mask)
    capped = Config()
    capped.inference.max_crop_size = SIZE
    assert MouthSynthesizer(path, config=capped).crop_side(face.outer_lip) == SIZE


def test_photo_detail_stage_follows_the_config_and_zero_is_the_old_paste_back(tiny_model, photo):
    """``inference.fill_detail`` reaches the photo paste-back: 0 gives exactly what composite()
    gives without the stage; the default changes only pixels the alpha allows, and not all of
    them the same as at 0."""
    from mouthsynth.geometry import crop_alpha
    from mouthsynth.inference.compositing import composite

    image = photo("stargan-v2_006930.jpg")
    off = Config()
    off.inference.fill_detail = 0.0
    synth_off = MouthSynthesizer(tiny_model[0], config=off)
    face = synth_off.landmarks.detect(image)[0]
    crop = cut_mouth(image, face, synth_off.crop_side(face.outer_lip), synth_off.cfg.geometry)
    generated = synth_off.generate([crop])[id(crop)]
    expected = composite(image, crop, generated, alpha=crop_alpha(crop, cfg=synth_off.cfg.geometry))
    result_off = synth_off.fill_crops(image, [(face, crop)], force=True)
    assert np.array_equal(result_off.image, expected)
    assert Config().inference.fill_detail > 0  # the stage is on by default for photos
    result_on = MouthSynthesizer(tiny_model[0]).fill_crops(image, [(face, crop)], force=True)
    _assert_only_inside(result_on.image, image, result_on.mask)
    assert (result_on.image != result_off.image).any()
