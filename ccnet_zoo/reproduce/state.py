"""What a Table 1 run folder holds and what produced it: ``reproduce.json``.

* **Ownership**: every file and folder the run writes is recorded *before* it is written; a path that exists
  and is not recorded belongs to the user and is never replaced (:meth:`RunState.claim` refuses it).
* **Fingerprints**: each stage records the inputs that produced it (data settings, config with overrides,
  seed, weights, upstream stages, code version). A stage is reused only when its fingerprint is unchanged;
  otherwise it is redone (and everything downstream, whose fingerprints include it) and the difference is
  logged on one line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccnet_zoo.errors import CCNetZooError
from frd._files import replace_owned_text

log = logging.getLogger(__name__)
STATE_FILE = "reproduce.json"
FORMAT = "ccnet-zoo-reproduce/1"


class ReproduceError(CCNetZooError, RuntimeError):
    """A Table 1 run cannot go on (missing data, unknown weights, ...); the message says what to do."""


class OwnershipError(ReproduceError):
    """A path in the run folder exists and was not written by ``reproduce`` (the user's)."""


def digest(fingerprint: Mapping[str, Any]) -> str:
    """A short, stable hash of a fingerprint (sorted-key JSON)."""
    text = json.dumps(fingerprint, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


def difference(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """One line naming what changed between two fingerprints (empty when equal)."""
    if old is None:
        return "no fingerprint recorded"
    a, b = _flat(old), _flat(new)
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if not keys:
        return ""
    shown = ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys[:3])
    return shown + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")


class RunState:
    """``<out>/reproduce.json``: owned paths (relative to ``out``) and per-stage fingerprints."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.path = self.out / STATE_FILE
        self.owned: set[str] = set()
        self.stages: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError as err:
                raise OwnershipError(f"{self.path} is not valid JSON ({err}); move it away") from err
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise OwnershipError(f"{self.path} is not a ccnet-zoo reproduce record; move it away")
            self.owned = {str(p) for p in doc.get("owned", []) if _inside(str(p))}
            self.stages = dict(doc.get("stages", {}))
        elif self.path.exists():
            raise OwnershipError(f"{self.path} exists and is not a file; move it away")

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT, "owned": sorted(self.owned), "stages": self.stages}
        replace_owned_text(self.path, json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")

    def _rel(self, path: Path) -> str:
        rel = os.path.relpath(Path(path).resolve(), self.out.resolve())
        if not _inside(rel):
            raise OwnershipError(f"{path} is outside the run folder {self.out}")
        return Path(rel).as_posix()

    def owns(self, path: Path) -> bool:
        return self._rel(path) in self.owned

    def claim(self, path: Path) -> Path:
        """Record ``path`` as written by this run (before writing it); refuse a path the user already has."""
        rel = self._rel(path)
        if rel not in self.owned:
            if os.path.lexists(path):
                raise OwnershipError(
                    f"{path} exists and was not written by ccnet-zoo reproduce (not in "
                    f"{STATE_FILE}); move it away or choose another --out"
                )
            self.owned.add(rel)
            self.save()
        return Path(path)

    # --- stages -----------------------------------------------------------------------------------------------
    def fingerprint(self, stage: str) -> dict[str, Any] | None:
        rec = self.stages.get(stage)
        return rec.get("fingerprint") if rec else None

    def is_done(self, stage: str, fingerprint: Mapping[str, Any]) -> bool:
        rec = self.stages.get(stage) or {}
        return bool(rec.get("done")) and rec.get("fingerprint") == json.loads(json.dumps(fingerprint, default=str))

    def check(self, stage: str, fingerprint: Mapping[str, Any]) -> str:
        """'' when ``stage`` has this fingerprint (or none yet), else the one-line difference (logged)."""
        old = self.fingerprint(stage)
        if old is None:
            return ""
        diff = difference(old, json.loads(json.dumps(fingerprint, default=str)))
        if diff:
            log.warning("%s: settings changed since the last run (%s); redoing it", stage, diff)
        return diff

    def start(self, stage: str, fingerprint: Mapping[str, Any]) -> None:
        self.stages[stage] = {
            "fingerprint": json.loads(json.dumps(fingerprint, default=str)),
            "done": False,
            "hash": digest(fingerprint),
        }
        self.save()

    def finish(self, stage: str, **extra: Any) -> None:
        self.stages[stage].update(done=True, **extra)
        self.save()

    def forget(self, prefix: str) -> None:
        """Drop the records of stages named ``prefix`` or ``prefix/...`` (their outputs are being redone)."""
        for name in [s for s in self.stages if s == prefix or s.startswith(prefix + "/")]:
            del self.stages[name]
        self.save()


def _inside(rel: str) -> bool:
    p = Path(rel)
    return not p.is_absolute() and ".." not in p.parts and rel not in ("", ".")
