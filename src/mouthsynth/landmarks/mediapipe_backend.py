"""MediaPipe FaceMesh (478 points, refined lips) run on each detected face's crop.

MediaPipe's C++ side (TensorFlow Lite, absl) writes log lines to fd 2 when its graphs start and
on some ``process()`` calls, partly from graph threads. Creation (with a warm-up run, so those
threads are done before it returns), every ``process()`` and ``close()`` therefore run with fd 2
silenced unless verbose; see mouthsynth.logging_setup.
"""

from __future__ import annotations

import cv2
import numpy as np

from mouthsynth.config import LandmarkConfig
from mouthsynth.landmarks.base import FaceLandmarks, box_iou, points_box
from mouthsynth.landmarks.detector import HogFaceDetector
from mouthsynth.logging_setup import native_stderr_silenced, quiet_library_env

# Closed contours, corner first, upper lip, other corner, lower lip (see base.FaceLandmarks).
INNER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
OUTER_LIP = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]

# FaceMesh is most accurate when the face fills a frame of about this size.
_MESH_INPUT = 256


class MediaPipeBackend:
    name = "mediapipe"

    def __init__(self, cfg: LandmarkConfig | None = None):
        quiet_library_env()
        self.cfg = cfg or LandmarkConfig()
        with native_stderr_silenced():
            import mediapipe as mp

            # Static mode: every crop is meshed on its own, so faces never swap between calls.
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
            )
            self._whole = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=self.cfg.max_faces,
                refine_landmarks=True,
                min_detection_confidence=0.5,
            )
            # The graphs open their models on their own threads, logging as they go: one run
            # each waits for that to finish while fd 2 is still silenced.
            blank = np.zeros((_MESH_INPUT, _MESH_INPUT, 3), np.uint8)
            self._mesh.process(blank)
            self._whole.process(blank)
        self._detector: HogFaceDetector | None = None

    def _process(self, mesh, image: np.ndarray):
        with native_stderr_silenced():
            return mesh.process(image)

    def _boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        if self._detector is None:
            self._detector = HogFaceDetector(self.cfg.upsample_below)
        return self._detector(image)

    def _mesh_crop(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
        """Mesh the face in ``box``: a square crop grown by the margin, scaled to the mesh's size."""
        h, w = image.shape[:2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * (1 + 2 * self.cfg.face_margin)
        scale = _MESH_INPUT / side
        matrix = np.array(
            [[scale, 0, _MESH_INPUT / 2 - scale * cx], [0, scale, _MESH_INPUT / 2 - scale * cy]]
        )
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        crop = cv2.warpAffine(
            image, matrix, (_MESH_INPUT, _MESH_INPUT), flags=interp, borderMode=cv2.BORDER_CONSTANT
        )
        result = self._process(self._mesh, crop)
        if not result.multi_face_landmarks:
            return None
        pts = np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark], np.float32)
        pts *= _MESH_INPUT
        # Back to image pixels.
        pts = (pts - matrix[:, 2]) / scale
        del w, h
        return pts.astype(np.float32)

    def _whole_image(self, image: np.ndarray) -> list[np.ndarray]:
        result = self._process(self._whole, np.ascontiguousarray(image))
        h, w = image.shape[:2]
        faces = []
        for lm in result.multi_face_landmarks or []:
            faces.append(np.array([(p.x * w, p.y * h) for p in lm.landmark], np.float32))
        return faces

    def detect(
        self, image: np.ndarray, face_boxes: list[tuple[float, float, float, float]] | None = None
    ) -> list[FaceLandmarks]:
        boxes = face_boxes if face_boxes is not None else self._boxes(image)
        meshes = [m for m in (self._mesh_crop(image, b) for b in boxes) if m is not None]
        if face_boxes is None:
            # Faces the HOG detector misses (profiles, very large faces) still get a chance.
            for pts in self._whole_image(image):
                if all(box_iou(points_box(pts), points_box(m)) < 0.3 for m in meshes):
                    meshes.append(pts)
        faces: list[FaceLandmarks] = []
        for pts in meshes:
            box = points_box(pts)
            if any(box_iou(box, f.face_box) > 0.5 for f in faces):
                continue  # the same face found twice
            faces.append(FaceLandmarks(pts[INNER_LIP], pts[OUTER_LIP], box, pts, self.name))
        faces.sort(key=lambda f: -(f.face_box[2] - f.face_box[0]) * (f.face_box[3] - f.face_box[1]))
        return faces[: self.cfg.max_faces]

    def close(self) -> None:
        with native_stderr_silenced():
            self._mesh.close()
            self._whole.close()
