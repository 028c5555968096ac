"""dlib's 68-point shape predictor: the fallback backend (optional extra ``mouthsynth[dlib68]``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from mouthsynth.config import LandmarkConfig
from mouthsynth.errors import ModelError
from mouthsynth.landmarks.base import FaceLandmarks, points_box
from mouthsynth.landmarks.detector import HogFaceDetector

# iBUG 68-point layout: outer lips 48-59 (corner 48, upper mid 51, corner 54), inner 60-67.
INNER_LIP = list(range(60, 68))
OUTER_LIP = list(range(48, 60))


def predictor_path() -> Path:
    # Located without importing face_recognition_models: its __init__ needs pkg_resources,
    # which current setuptools no longer ships.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the dlib68 landmark backend needs the optional extra: pip install 'mouthsynth[dlib68]'"
        )
    path = (
        Path(next(iter(spec.submodule_search_locations))) / "models" / "shape_predictor_68_face_landmarks.dat"
    )
    if not path.is_file():
        raise ModelError(f"{path}: dlib 68-point shape predictor missing")
    return path


class Dlib68Backend:
    name = "dlib68"

    def __init__(self, cfg: LandmarkConfig | None = None):
        import dlib

        self.cfg = cfg or LandmarkConfig()
        self._detector = HogFaceDetector(self.cfg.upsample_below)
        self._predictor = dlib.shape_predictor(str(predictor_path()))
        self._dlib = dlib

    def detect(
        self, image: np.ndarray, face_boxes: list[tuple[float, float, float, float]] | None = None
    ) -> list[FaceLandmarks]:
        boxes = face_boxes if face_boxes is not None else self._detector(image)
        image = np.ascontiguousarray(image)
        faces = []
        for x0, y0, x1, y1 in boxes[: self.cfg.max_faces]:
            rect = self._dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
            shape = self._predictor(image, rect)
            pts = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
            faces.append(FaceLandmarks(pts[INNER_LIP], pts[OUTER_LIP], points_box(pts), pts, self.name))
        return faces

    def close(self) -> None:
        pass
