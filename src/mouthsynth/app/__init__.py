"""The web app (`mouthsynth app`, the ``app`` extra: Gradio): image, video, transfer and
personalisation in a browser page, served on this computer (127.0.0.1 by default).

``Workbench`` (``mouthsynth.app.work``) does the work and needs no web library; ``build`` and
``serve`` (``mouthsynth.app.ui``) import Gradio only when called."""

from __future__ import annotations

from mouthsynth.app.work import Workbench, training_available


def build(workbench: Workbench):
    from mouthsynth.app.ui import build as _build

    return _build(workbench)


def serve(**kwargs) -> None:
    from mouthsynth.app.ui import serve as _serve

    _serve(**kwargs)


__all__ = ["Workbench", "build", "serve", "training_available"]
