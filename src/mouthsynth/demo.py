"""The demo: the full synthesis on scikit-image's astronaut() photo, as one picture."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mouthsynth.errors import MouthSynthError


def _label(panel: np.ndarray, text: str) -> np.ndarray:
    panel = panel.copy()
    cv2.rectangle(panel, (0, 0), (panel.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(panel, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return panel


def demo_panels(image: np.ndarray, model: Path | None = None) -> np.ndarray:
    from mouthsynth.inference.synthesizer import MouthSynthesizer

    synth = MouthSynthesizer(model=model)
    result = synth(image)
    filled = [f for f in result.faces if f.synthesised]
    if not filled:
        raise MouthSynthError("astronaut(): no face with an open mouth found")
    face = filled[0]
    # Zoom on the first face so the mouth is visible: a square around its global crop.
    x0, y0, x1, y1 = face.zoom_box(image.shape)
    white = result.white_filled
    mask = (np.repeat(result.mask[..., None], 3, 2) * 255).astype(np.uint8)
    panels = []
    for name, img in (
        ("original", image),
        ("white-filled", white),
        ("synthesised", result.image),
        ("mask", mask),
    ):
        tile = cv2.resize(img[y0:y1, x0:x1], (320, 320), interpolation=cv2.INTER_CUBIC)
        panels.append(_label(tile, name))
    return np.hstack(panels)


def run_demo(target: Path, model: Path | None = None, overwrite: bool = False) -> Path:
    from skimage import data

    from mouthsynth.io.images import write_image

    write_image(target, demo_panels(data.astronaut(), model), overwrite=overwrite)
    return target
