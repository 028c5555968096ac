"""Errors that reach the user as one clear line naming the file and what is wrong."""

from __future__ import annotations


class MouthSynthError(Exception):
    """Base class: the message is shown to the user as is, on one line."""


class ConfigError(MouthSynthError):
    """A configuration key or value is wrong."""


class InputError(MouthSynthError):
    """An input file cannot be used: unreadable, wrong shape, no face, closed mouth..."""

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NoFaceError(InputError):
    def __init__(self, path: object, detail: str = ""):
        super().__init__(path, "no face found" + (f" ({detail})" if detail else ""))


class MouthClosedError(InputError):
    def __init__(self, path: object, mouth_open: float, threshold: float):
        super().__init__(
            path, f"mouth closed (mouth_open {mouth_open:.3f} < {threshold:.3f}): nothing to synthesise"
        )


class ModelError(MouthSynthError):
    """A model file is missing, corrupt, or does not match what mouthsynth expects."""


class OutputExistsError(MouthSynthError):
    def __init__(self, path: object):
        super().__init__(f"{path}: output exists (pass --overwrite to replace it)")
