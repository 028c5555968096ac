"""Find the mouth: every face's inner and outer lip contours, behind one small interface."""

from __future__ import annotations

from mouthsynth.config import LandmarkConfig
from mouthsynth.errors import ConfigError
from mouthsynth.landmarks.base import FaceLandmarks, LandmarkBackend


def create_backend(cfg: LandmarkConfig | None = None) -> LandmarkBackend:
    cfg = cfg or LandmarkConfig()
    if cfg.backend == "mediapipe":
        from mouthsynth.landmarks.mediapipe_backend import MediaPipeBackend

        return MediaPipeBackend(cfg)
    if cfg.backend == "dlib68":
        from mouthsynth.landmarks.dlib_backend import Dlib68Backend

        return Dlib68Backend(cfg)
    raise ConfigError(f"config key 'landmarks.backend': unknown backend {cfg.backend!r}")


__all__ = ["FaceLandmarks", "LandmarkBackend", "create_backend"]
