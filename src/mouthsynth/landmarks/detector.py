"""Face boxes from dlib's HOG detector: it finds faces down to ~60 px, where MediaPipe's own
detector gives up below ~120 px, so group photos and far-away faces still get a mesh."""

from __future__ import annotations

import threading

import numpy as np

# One dlib detector per process: building it takes 0.3-0.7 s (several ms per frame of a short
# video when every video's tracker built its own). Its detection call is not safe to run from
# two threads at once (the video tracker's background pass and a lost face's search), so calls
# take turns.
_LOCK = threading.Lock()
_DLIB_DETECTOR = None


def _shared_detector():
    global _DLIB_DETECTOR
    with _LOCK:
        if _DLIB_DETECTOR is None:
            import dlib  # imported here: dlib is slow to import and only some paths need it

            _DLIB_DETECTOR = dlib.get_frontal_face_detector()
        return _DLIB_DETECTOR


class HogFaceDetector:
    def __init__(self, upsample_below: int = 1200):
        self._detector = _shared_detector()
        self.upsample_below = upsample_below

    def __call__(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        # Upsampling once doubles the smallest face found; large images do not need it.
        upsample = 1 if min(image.shape[:2]) < self.upsample_below else 0
        with _LOCK:
            rects = self._detector(np.ascontiguousarray(image), upsample)
        boxes = [(float(r.left()), float(r.top()), float(r.right()), float(r.bottom())) for r in rects]
        return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
