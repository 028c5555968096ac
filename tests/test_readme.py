"""The README's promises: its two commands are what CI runs, and its Python snippet works."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_commands_verbatim():
    setup, tests = (b.strip() for b in _blocks("bash")[:2])
    ci = (REPO / ".ci" / "run").read_text()
    assert setup in ci and tests in ci
    assert ci.index(setup) < ci.index(tests)
    assert "mouthsynth demo" in setup


def test_python_snippet_runs(capsys):
    (snippet,) = [b for b in _blocks("python") if "MouthSynthesizer" in b]
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # noqa: S102 - our own documentation
    result = scope["result"]
    assert result.synthesised == 1
    assert scope["filled"].shape == (512, 512, 3)
    assert (scope["filled"] != scope["data"].astronaut()).any()
    assert "[" in capsys.readouterr().out
