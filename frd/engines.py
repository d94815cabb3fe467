"""Which radiomics engine runs: what the fast engine refuses, and the default's choice.

``fast`` (frd's compiled port of pyradiomics' formulas, :mod:`frd.engine`) is the default; settings
it cannot reproduce stay on ``pyradiomics``. This module is light on purpose: resolving settings,
also for a run whose every feature is cached, must not import numba, SimpleITK or pyradiomics.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

#: Radiomics engines: pyradiomics itself, frd's compiled port of its formulas (frd.engine), or that
#: port with its texture matrices counted by torch on a device (``torch`` extra).
ENGINES = ("pyradiomics", "fast", "torch")
#: The engine when the user names none (falls back to pyradiomics where :func:`fast_refusal` says why).
DEFAULT_ENGINE = "fast"

#: pyradiomics settings whose effect the fast engine does not reproduce.
UNSUPPORTED_SETTINGS = ("weightingNorm", "voxelBased", "resegmentRange")
#: Feature classes the fast engine computes (shape classes through pyradiomics' own C routines).
FAST_CLASSES = ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm", "shape", "shape2D")


def numba_installed() -> bool:
    """Whether numba can be imported, found without importing it."""
    return importlib.util.find_spec("numba") is not None


def fast_refusal(params: Iterable[dict[str, Any]]) -> str | None:
    """Why the fast engine cannot reproduce these pyradiomics parameter sets; None when it can."""
    bad: set[str] = set()
    classes: set[str] = set()
    for p in params:
        # image types can carry their own settings, which pyradiomics merges over the global ones
        layers = [p.get("setting") or {}] + [c or {} for c in (p.get("imageType") or {}).values()]
        bad.update(k for s in layers for k in UNSUPPORTED_SETTINGS if s.get(k) is not None)
        if any(s.get("symmetricalGLCM", True) is not True for s in layers):
            bad.add("symmetricalGLCM")
        classes.update(set(p.get("featureClass") or {}) - set(FAST_CLASSES))
    if bad:
        return f"does not support the setting(s) {', '.join(sorted(bad))}"
    if classes:
        return f"has no feature class {', '.join(sorted(classes))}"
    return None


def choose_engine(engine: str | None, params: Iterable[dict[str, Any]]) -> str:
    """``engine`` when the user named one; else the default, or pyradiomics (one INFO line) where fast refuses.

    An engine the user named is kept even where it refuses: extraction then stops with the reason.
    """
    if engine is not None:
        return engine
    why = fast_refusal(params)
    if why is None and not numba_installed():
        why = "needs numba, which is not installed"
    if why is None:
        return DEFAULT_ENGINE
    log.info("engine: pyradiomics, because the fast engine %s", why)
    return "pyradiomics"
