"""mouthsynth: paint a realistic mouth interior into faces whose mouth shape was changed.

The top-level import is light: ``MouthSynthesizer`` is loaded on first use, and the inference
path (landmarks, geometry, ONNX Runtime) never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mouthsynth.inference.synthesizer import MouthSynthesizer, Result


def __getattr__(name: str) -> Any:
    if name in ("MouthSynthesizer", "Result"):
        from mouthsynth.inference import synthesizer

        return getattr(synthesizer, name)
    raise AttributeError(f"module 'mouthsynth' has no attribute {name!r}")


__all__ = ["MouthSynthesizer", "Result", "__version__"]
