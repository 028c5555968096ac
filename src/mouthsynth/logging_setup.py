"""Quiet by default: the user sees progress and mouthsynth's own messages, not the libraries'.

MediaPipe, TensorFlow Lite and absl log from C++ straight to the stderr file descriptor (fd 2),
some of it from graph threads after the call that caused it has returned, and absl ignores
``GLOG_minloglevel``. Python's logging cannot reach those lines, so quiet mode points fd 2 at
/dev/null: for a whole command in the CLI (while Python's ``sys.stderr`` keeps writing to the
real stderr through a duplicate of it), and around MediaPipe's graph creation and every
``process()`` call for library use. Verbose mode (``mouthsynth --verbose``, or
``MOUTHSYNTH_VERBOSE=1``, which spawned worker processes inherit) leaves fd 2 alone and shows
mouthsynth's info messages too.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

VERBOSE_ENV = "MOUTHSYNTH_VERBOSE"

# Read by the C++ libraries when they load: set before mediapipe (or tensorflow) is imported.
QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}


def is_verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def quiet_library_env() -> None:
    """Ask the C++ libraries to log less (a user's own setting wins); nothing when verbose."""
    if not is_verbose():
        for key, value in QUIET_ENV.items():
            os.environ.setdefault(key, value)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time, so it follows a redirection."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


_verbose_set_here = False


def configure(verbose: bool = False) -> None:
    """Set the mode for this process and the workers it spawns, and show mouthsynth's log
    messages on stderr as ``warning: ...`` lines (``info: ...`` too when verbose)."""
    global _verbose_set_here
    if verbose:
        _verbose_set_here = _verbose_set_here or not is_verbose()
        os.environ[VERBOSE_ENV] = "1"
    elif _verbose_set_here:  # an earlier run in this process asked for it, not the user
        os.environ.pop(VERBOSE_ENV, None)
        _verbose_set_here = False
    quiet_library_env()
    logger = logging.getLogger("mouthsynth")
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_LevelFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if is_verbose() else logging.WARNING)


_lock = threading.RLock()
_depth = 0


def _fileno(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


@contextmanager
def native_stderr_silenced(keep_python_stderr: bool = False) -> Iterator[None]:
    """Send what C/C++ code writes to fd 2 to /dev/null while inside; nothing when verbose.

    With ``keep_python_stderr``, ``sys.stderr`` is swapped for a stream on a duplicate of the
    real stderr for the duration, so Python's own messages (errors, warnings, progress bars)
    still reach the user. Nested and repeated uses inside an active one do nothing.
    """
    global _depth
    if is_verbose():
        yield
        return
    with _lock:
        _depth += 1
        if _depth > 1:
            outer = True
        else:
            outer = False
            try:
                state = _redirect(keep_python_stderr)
            except BaseException:
                _depth -= 1
                raise
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if not outer:
                _restore(*state)


def _redirect(keep_python_stderr: bool) -> tuple[int, io.TextIOBase | None, io.TextIOBase | None]:
    old = sys.stderr
    if old is not None:
        old.flush()
    saved = os.dup(2)
    replacement = None
    try:
        if keep_python_stderr and old is not None and _fileno(old) == 2:
            replacement = open(  # closed by _restore
                os.dup(saved),
                "w",
                buffering=1,
                encoding=getattr(old, "encoding", None) or "utf-8",
                errors=getattr(old, "errors", None) or "backslashreplace",
            )
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
    except BaseException:
        if replacement is not None:
            replacement.close()
        os.close(saved)
        raise
    if replacement is not None:
        sys.stderr = replacement
    return saved, old, replacement


def _restore(saved: int, old: io.TextIOBase | None, replacement: io.TextIOBase | None) -> None:
    try:
        if replacement is not None:
            try:
                replacement.flush()
            finally:
                if sys.stderr is replacement:
                    sys.stderr = old
                replacement.close()
        os.dup2(saved, 2)
    finally:
        os.close(saved)
