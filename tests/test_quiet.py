"""Quiet by default: a real command shows only mouthsynth's own lines on stderr; --verbose lets
MediaPipe / TensorFlow Lite / absl log lines through."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

import pytest

from mouthsynth.logging_setup import VERBOSE_ENV, configure, native_stderr_silenced

# What MediaPipe 0.10 prints on every run when nothing stops it.
THIRD_PARTY = re.compile(
    r"^[IWEF]\d{4} |TensorFlow Lite|XNNPACK|absl::|inference_feedback_manager|landmark_projection",
    re.MULTILINE,
)


def _mouthsynth(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (VERBOSE_ENV, "GLOG_minloglevel")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "mouthsynth.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def runs(photos_dir, tmp_path_factory):
    """The same `mask --json` run, quiet and verbose, with one missing input for an error line."""
    tmp = tmp_path_factory.mktemp("quiet")
    args = [str(photos_dir / "face_recognition_obama.jpg"), str(tmp / "missing.jpg"), "--json"]
    quiet = _mouthsynth("mask", *args, "-o", str(tmp / "quiet"), cwd=tmp)
    verbose = _mouthsynth("--verbose", "mask", *args, "-o", str(tmp / "verbose"), cwd=tmp)
    return quiet, verbose


def test_normal_run_shows_no_third_party_lines(runs):
    quiet, _ = runs
    assert quiet.returncode == 1, quiet.stderr  # the missing input is skipped
    assert not THIRD_PARTY.search(quiet.stderr), quiet.stderr
    # Our own messages still reach the user, on stderr; the JSON is on stdout.
    assert "missing.jpg: file not found" in quiet.stderr
    assert "1 processed, 1 skipped" in quiet.stderr
    record = json.loads(quiet.stdout.splitlines()[0])
    assert record["image"].endswith("face_recognition_obama.jpg") and record["faces"]


def test_verbose_lets_the_libraries_speak(runs):
    quiet, verbose = runs
    assert verbose.returncode == 1
    assert THIRD_PARTY.search(verbose.stderr), verbose.stderr
    assert "missing.jpg: file not found" in verbose.stderr
    faces = [json.loads(run.stdout.splitlines()[0])["faces"] for run in (quiet, verbose)]
    assert faces[0] == faces[1]


def test_silencing_drops_native_writes_only_while_inside(capfd, monkeypatch):
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    with native_stderr_silenced():
        os.write(2, b"native chatter\n")
        print("our own line", file=sys.stderr)
        with native_stderr_silenced():  # nested: nothing more to do, nothing undone early
            os.write(2, b"nested chatter\n")
        os.write(2, b"more chatter\n")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "chatter" not in err
    assert "our own line" in err and "after" in err


def test_verbose_env_leaves_stderr_alone(capfd, monkeypatch):
    monkeypatch.setenv(VERBOSE_ENV, "1")
    with native_stderr_silenced():
        os.write(2, b"native line\n")
    assert "native line" in capfd.readouterr().err


def test_info_messages_only_when_verbose(capsys, monkeypatch):
    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    log = logging.getLogger("mouthsynth.test_quiet")
    try:
        configure(verbose=False)
        log.info("an info line")
        log.warning("a warning line")
        err = capsys.readouterr().err
        assert "an info line" not in err and "warning: a warning line" in err
        configure(verbose=True)
        log.info("an info line")
        assert "info: an info line" in capsys.readouterr().err
    finally:
        configure(verbose=False)
    assert VERBOSE_ENV not in os.environ  # set by configure(True), not by the user: undone
