"""Reading and writing images: any common file in, RGB uint8 out; atomic writes that never
replace an existing file unless asked.

Conversions (never rejections): grey -> RGB; 16-bit -> 8-bit (scaled, not truncated); float ->
8-bit (0..1 range); grey+alpha and RGBA -> composited on white, as most viewers show a transparent
background; CMYK JPEG -> RGB; the EXIF orientation is applied, so the face is upright. OpenCV
decodes (it keeps 16-bit RGB depth, which Pillow cannot); Pillow reads the EXIF orientation tag and
decodes the formats OpenCV lacks (GIF...).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from mouthsynth.errors import InputError, OutputExistsError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
# Smaller images cannot hold a face; refusing them here gives a clearer message than later stages.
MIN_SIDE = 8


def is_video(path: str | Path) -> bool:
    """Whether a file is a video, by its name (the one rule every command and dataset uses)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


# EXIF orientation tag value -> numpy transform that shows the image upright (as Pillow's
# ImageOps.exif_transpose does).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, k=1),
}


def _to_rgb8(image: np.ndarray, path: Path) -> np.ndarray:
    """OpenCV's BGR(A)/grey of any depth -> RGB uint8."""
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = (np.clip(np.nan_to_num(image), 0, 1) * 255).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InputError(path, f"unsupported pixel type {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # grey + alpha
        image = _on_white(image[..., :1], image[..., 1:2])
        return np.repeat(image, 3, axis=2)
    if channels == 4:  # BGRA
        image = _on_white(image[..., :3], image[..., 3:4])
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_BGR2RGB)


def _on_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32) / 255.0
    return (colour.astype(np.float32) * a + 255.0 * (1.0 - a)).round().astype(np.uint8)


def _exif_orientation(path: Path) -> int:
    """The EXIF orientation tag (1 = upright); 1 when there is none or it cannot be read."""
    try:
        from PIL import Image

        with Image.open(path) as img:
            value = img.getexif().get(0x0112, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:  # no EXIF, an odd file, a decompression-bomb guard: keep as stored
        return 1


def _read_with_pillow(path: Path) -> np.ndarray | None:
    """Fallback decoder for formats OpenCV lacks; None when Pillow cannot read it either."""
    try:
        from PIL import Image, ImageOps

        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA", "P"):
                img = img.convert("RGBA")
                background = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, img)
            return np.asarray(img.convert("RGB"))
    except Exception:
        return None


def read_image(path: str | Path) -> np.ndarray:
    """RGB uint8 H x W x 3, upright. Raises InputError naming the file for anything unusable."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not an image")
    if path.stat().st_size == 0:
        raise InputError(path, "empty file")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror or exc})") from exc
    # UNCHANGED keeps 16-bit depth and alpha so they are converted properly, but it skips the
    # EXIF orientation, which is applied below.
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if decoded is not None:
        image = _to_rgb8(decoded, path)
        orientation = _exif_orientation(path)
        if orientation != 1:
            image = np.ascontiguousarray(_ORIENT[orientation](image))
    else:
        image = _read_with_pillow(path)
        if image is None:
            raise InputError(path, "not an image (unreadable or corrupt)")
    if image.shape[0] < MIN_SIDE or image.shape[1] < MIN_SIDE:
        raise InputError(path, f"image too small ({image.shape[1]}x{image.shape[0]})")
    return image


def _check_writable(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or not (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 3)):
        raise ValueError(
            f"write_image expects RGB uint8 H x W x 3 or grey H x W, got {rgb.shape} {rgb.dtype}"
        )
    return rgb if rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)


def prepare_output(path: Path, overwrite: bool) -> Path:
    """Check ``path`` may be written and create its folder; returns the path."""
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    if path.is_dir():
        raise InputError(path, "is a folder, not a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def publish(tmp: Path, path: Path) -> None:
    """Give the finished temporary file the usual permissions and move it into place.

    mkstemp creates files readable by their owner only; outputs should follow the umask instead.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def write_image(path: str | Path, rgb: np.ndarray, overwrite: bool = False) -> Path:
    """Write an RGB (or grey) uint8 image as PNG/JPEG/...: chosen by the suffix, atomically
    (temporary file + rename, so no half-written file is ever seen); an existing file needs
    ``overwrite``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise InputError(path, f"unsupported image type '{suffix}' (use one of {sorted(IMAGE_EXTENSIONS)})")
    pixels = _check_writable(rgb)
    prepare_output(path, overwrite)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(suffix, pixels, params)
    if not ok:
        raise InputError(path, "cannot encode image")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.tobytes())
        publish(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def iter_inputs(paths: list[Path], extensions: set[str] = IMAGE_EXTENSIONS) -> list[tuple[Path, Path]]:
    """Files to process as (path, path relative to the folder it was found in), so outputs can
    mirror the input tree. A folder gives every file below it with a matching suffix, sorted,
    hidden files and folders left out; a file given directly is taken whatever its suffix (and a
    missing one too), so a bad input is reported by the reader rather than silently skipped."""
    found: list[tuple[Path, Path]] = []
    for path in map(Path, paths):
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                relative = p.relative_to(path)
                hidden = any(part.startswith(".") for part in relative.parts)
                if p.is_file() and p.suffix.lower() in extensions and not hidden:
                    found.append((p, relative))
        else:
            found.append((path, Path(path.name)))
    return found
