"""`mouthsynth mask` on real photos and on bad inputs: one-line errors, the batch goes on."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from mouthsynth.cli.main import app
from mouthsynth.io.images import read_image


def test_mask_json_describes_every_face(photos_dir, tmp_path):
    result = CliRunner().invoke(
        app, ["mask", str(photos_dir / "insightface_group_t1.jpg"), "-o", str(tmp_path / "g.png"), "--json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert record["width"] == 1280 and record["height"] == 886
    assert len(record["faces"]) == 6
    for face in record["faces"]:
        assert len(face["inner_lip"]) == 20 and len(face["outer_lip"]) == 20
        assert np.array(face["global_box"]).shape == (4, 2)
        x0, y0, x1, y1 = face["local_box"]
        assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 128
        assert face["mouth_open"] >= 0
        # The global box surrounds the lips.
        box = np.array(face["global_box"])
        lips = np.array(face["outer_lip"])
        assert box[:, 0].min() < lips[:, 0].min() and lips[:, 0].max() < box[:, 0].max()
    picture = read_image(tmp_path / "g.png")
    assert picture.shape[0] == 886 and picture.shape[1] > 1280  # the crops column beside the image


def test_bad_inputs_get_one_line_each_and_the_rest_is_processed(photos_dir, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    missing = tmp_path / "missing.jpg"
    cat = photos_dir / "liveportrait_s41.jpg"
    good = photos_dir / "face_recognition_obama.jpg"
    closed = photos_dir / "face_recognition_obama3.jpg"
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["mask", str(empty), str(text), str(missing), str(cat), str(good), str(closed), "-o", str(out)]
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any("empty.jpg: empty file" in line for line in lines)
    assert any("notes.png: not an image" in line for line in lines)
    assert any("missing.jpg: file not found" in line for line in lines)
    assert any("liveportrait_s41.jpg: no face found" in line for line in lines)
    assert any("face_recognition_obama3.jpg: face 0: mouth closed" in line for line in lines)
    assert (out / "face_recognition_obama.png").is_file() and (out / "face_recognition_obama3.png").is_file()
    assert "2 processed, 4 skipped" in result.output


def test_existing_output_is_kept_without_overwrite(photos_dir, tmp_path):
    target = tmp_path / "m.png"
    target.write_bytes(b"keep me")
    result = CliRunner().invoke(
        app, ["mask", str(photos_dir / "face_recognition_obama.jpg"), "-o", str(target)]
    )
    assert result.exit_code == 1 and "exists" in result.output
    assert target.read_bytes() == b"keep me"
