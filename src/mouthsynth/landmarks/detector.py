"""Face boxes from dlib's HOG detector: it finds faces down to ~60 px, where MediaPipe's own
detector gives up below ~120 px, so group photos and far-away faces still get a mesh."""

from __future__ import annotations

import numpy as np


class HogFaceDetector:
    def __init__(self, upsample_below: int = 1200):
        import dlib  # imported here: dlib is slow to import and only some paths need it

        self._detector = dlib.get_frontal_face_detector()
        self.upsample_below = upsample_below

    def __call__(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        # Upsampling once doubles the smallest face found; large images do not need it.
        upsample = 1 if min(image.shape[:2]) < self.upsample_below else 0
        rects = self._detector(np.ascontiguousarray(image), upsample)
        boxes = [(float(r.left()), float(r.top()), float(r.right()), float(r.bottom())) for r in rects]
        return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
