"""Reading and writing images: any common file in, RGB uint8 out; atomic writes that never
replace an existing file unless asked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mouthsynth.errors import InputError, OutputExistsError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}


def _to_rgb8(image: np.ndarray, path: Path) -> np.ndarray:
    """Grey, grey+alpha, RGBA and 16-bit images become RGB uint8 (converted, not rejected)."""
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InputError(path, f"unsupported pixel type {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # grey + alpha: composite on white, like a viewer shows it
        grey, alpha = image[..., 0].astype(np.float32), image[..., 1:2].astype(np.float32) / 255
        grey = grey[..., None] * alpha + 255 * (1 - alpha)
        return np.repeat(grey.round().astype(np.uint8), 3, axis=2)
    if channels == 4:  # BGRA: composite on white
        bgr, alpha = image[..., :3].astype(np.float32), image[..., 3:4].astype(np.float32) / 255
        image = (bgr * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB)


def read_image(path: str | Path) -> np.ndarray:
    """RGB uint8 H x W x 3. Raises InputError naming the file for anything unusable."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not an image")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file")
    data = np.fromfile(str(path), dtype=np.uint8)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        # 8-bit only; IMREAD_COLOR converts CMYK and grey and applies the EXIF orientation.
        flags = cv2.IMREAD_COLOR
    else:
        # Keep 16-bit depth and alpha so they are converted properly below.
        flags = cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH
    image = cv2.imdecode(data, flags)
    if image is None:
        image = _read_with_pillow(path)
        if image is None:
            raise InputError(path, "not an image (unreadable or unsupported format)")
        return image
    image = _to_rgb8(image, path)
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise InputError(path, f"image too small ({image.shape[1]}x{image.shape[0]})")
    return image


def _read_with_pillow(path: Path) -> np.ndarray | None:
    try:
        from PIL import Image, ImageOps
    except ImportError:
        return None
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            return np.asarray(img.convert("RGB"))
    except Exception:
        return None


def write_image(path: str | Path, rgb: np.ndarray, overwrite: bool = False) -> Path:
    """Write PNG/JPEG atomically (temporary file + rename); an existing file needs ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower() if path.suffix.lower() in IMAGE_EXTENSIONS else ".png"
    ok, buf = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(path, "cannot encode image")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def iter_inputs(paths: list[Path], extensions: set[str] = IMAGE_EXTENSIONS) -> list[tuple[Path, Path]]:
    """Files to process as (path, path relative to the folder it was found in). A folder gives
    every matching file below it, sorted; a file given directly is taken whatever its suffix,
    so a bad file is reported rather than silently skipped."""
    found: list[tuple[Path, Path]] = []
    for path in map(Path, paths):
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and p.suffix.lower() in extensions and not p.name.startswith("."):
                    found.append((p, p.relative_to(path)))
        else:
            found.append((path, Path(path.name)))
    return found
