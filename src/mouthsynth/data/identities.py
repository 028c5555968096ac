"""Who is in each source, and which split each person goes to.

Validation must measure generalisation to unseen people, so the split is decided per identity,
never per frame or per clip. An identities file maps file-name patterns to identities (several
clips of one person), and may pin identities to a split:

    identities:            # fnmatch pattern on the file name -> identity; first match wins
      "dreamtalk_M030_*": mead_M030
      "*obama*": obama
    val: [mead_W011, "SEAN_*"]  # identities (fnmatch patterns) for validation: checkpoints
    test: [obama]               # ... and for the test split: results are reported on them only
    train_only: ["musetalk_*"]  # file patterns never used for validation or test

Validation chooses checkpoints; the test people are never used to choose anything, so the
figures reported on them are not tuned to them. Without ``val``, an identity goes to validation
when a seeded hash of its name falls below ``val_fraction``: stable when sources are added, and
independent of processing order.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mouthsynth.errors import ConfigError


@dataclass
class IdentityRules:
    patterns: list[tuple[str, str]] = field(default_factory=list)
    val: list[str] | None = None
    test: list[str] = field(default_factory=list)
    train_only: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path | None) -> IdentityRules:
        if path is None:
            return cls()
        path = Path(path)
        try:
            tree = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read identities file ({exc})") from exc
        keys = {"identities", "val", "test", "train_only"}
        if not isinstance(tree, dict) or not set(tree) <= keys:
            raise ConfigError(f"{path}: identities file takes only {', '.join(sorted(keys))}")
        patterns = [(str(k), str(v)) for k, v in (tree.get("identities") or {}).items()]
        val = tree.get("val")
        return cls(
            patterns,
            list(map(str, val)) if val is not None else None,
            list(map(str, tree.get("test") or [])),
            list(map(str, tree.get("train_only") or [])),
        )

    def identity(self, source: Path) -> str:
        name = source.name
        for pattern, identity in self.patterns:
            if fnmatch.fnmatch(name, pattern):
                return identity
        return source.stem

    def split(self, source: Path, identity: str, val_fraction: float, seed: int) -> str:
        if any(fnmatch.fnmatch(source.name, p) for p in self.train_only):
            return "train"
        if any(fnmatch.fnmatch(identity, p) for p in self.test):
            return "test"
        if self.val is not None:
            return "val" if any(fnmatch.fnmatch(identity, p) for p in self.val) else "train"
        digest = hashlib.sha256(f"{seed}:{identity}".encode()).digest()
        return "val" if int.from_bytes(digest[:8], "big") / 2**64 < val_fraction else "train"
