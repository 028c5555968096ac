"""Install it anywhere: the wheel (shipped model and training state inside, at most ~10 MB) goes
into a fresh virtual environment without torch, on Python 3.11 and, where an interpreter exists,
3.12, and runs `mouthsynth demo` and `mouthsynth inpaint` on a real photo from there.

pip fetches the inference dependencies from the package index (or its cache) the first time:
minutes, so these tests are marked slow."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mouthsynth.io.images import read_image

REPO = Path(__file__).resolve().parents[1]
OPEN_PHOTO = "stargan-v2_006930.jpg"
MAX_WHEEL_BYTES = 10 * 1024 * 1024
SHIPPED = [
    "mouthsynth/models/default.onnx",
    "mouthsynth/models/default.json",
    "mouthsynth/models/default_state/config.yaml",
    "mouthsynth/models/default_state/generator.safetensors",
    "mouthsynth/models/default_state/generator_ema.safetensors",
    "mouthsynth/models/default_state/state.json",
]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def _python(version: str) -> str | None:
    """An interpreter of this version that runs (pyenv's shims exist for versions not active)."""
    candidates = [
        os.environ.get(f"MOUTHSYNTH_PYTHON{version.replace('.', '')}"),
        sys.executable if sys.version_info[:2] == tuple(map(int, version.split("."))) else None,
        shutil.which(f"python{version}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}"))),
    ]
    for exe in filter(None, candidates):
        check = subprocess.run(
            [exe, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if check.returncode == 0 and check.stdout.strip() == str(tuple(map(int, version.split(".")))):
            return exe
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a clean copy of the sources (no stale build/ folder can leak in)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(REPO / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    # This environment's setuptools when it is recent enough (no download), else an isolated build.
    isolation = ["--no-build-isolation"] if _has_setuptools() else []
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *isolation,
            "-q",
            "-w",
            str(root / "dist"),
            str(source),
        ],
        timeout=300,
    )
    (built,) = (root / "dist").glob("mouthsynth-*.whl")
    return built


def _has_setuptools() -> bool:
    try:
        import setuptools

        return int(setuptools.__version__.split(".")[0]) >= 68
    except ImportError:
        return False


def test_wheel_is_small_and_ships_the_model(wheel):
    size = wheel.stat().st_size
    assert size <= MAX_WHEEL_BYTES, f"{wheel.name} is {size / 1e6:.1f} MB"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert set(SHIPPED) <= names
    assert "mouthsynth/app/ui.py" in names and "mouthsynth/cli/app.py" in names
    assert "Requires-Python: <3.13,>=3.11" in metadata or "Requires-Python: >=3.11,<3.13" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    core = [line for line in requires if "extra ==" not in line]
    assert not any("torch" in line or "gradio" in line for line in core), core


@pytest.mark.parametrize("version", ["3.11", "3.12"])
def test_wheel_installs_and_runs_without_torch(version, wheel, photos_dir, tmp_path):
    python = _python(version)
    if python is None:
        pytest.skip(f"no Python {version} interpreter here")
    venv = tmp_path / f"venv{version}"
    _run([python, "-m", "venv", str(venv)], timeout=120)
    bin_dir = venv / "bin"
    # The inference install: no extras. pip takes the dependencies from its cache or the index.
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-compile", str(wheel)], timeout=1200)
    check = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.util, sys, mouthsynth; "
            "print(sys.version_info[:2], importlib.util.find_spec('torch') is None, mouthsynth.__file__)",
        ]
    )
    assert check.stdout.split(")")[0] + ")" == str(tuple(map(int, version.split("."))))
    assert " True " in check.stdout and str(venv) in check.stdout, check.stdout  # no torch; the wheel's copy

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    mouthsynth = str(bin_dir / "mouthsynth")
    demo = tmp_path / "demo.png"
    _run([mouthsynth, "demo", "-o", str(demo)], cwd=tmp_path, env=env)
    assert read_image(demo).shape == (320, 4 * 320, 3)

    photo, out = photos_dir / OPEN_PHOTO, tmp_path / "filled.png"
    _run([mouthsynth, "inpaint", str(photo), "-o", str(out)], cwd=tmp_path, env=env)
    original, filled = read_image(photo), read_image(out)
    changed = (original != filled).any(axis=2)
    assert 0 < changed.sum() < 0.05 * changed.size

    # Without the app extra, `mouthsynth app` says what to install, on one line.
    app = subprocess.run(
        [mouthsynth, "app"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert app.returncode == 1
    assert 'needs the app extra: pip install "mouthsynth[app]"' in app.stderr
