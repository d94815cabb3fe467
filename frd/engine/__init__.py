"""frd's own radiomics engine: pyradiomics' features, computed by compiled code.

``engine="fast"`` in :func:`frd.compute_frd` (``--engine fast``, the default; see :mod:`frd.engines`)
routes extraction here. The engine needs numba, a core dependency; ``import frd`` never imports it.

Modules: :mod:`.discretize` (binning), :mod:`.matrices` (texture matrices, numba),
:mod:`.features` (pyradiomics' formulas), :mod:`.shape` (shape2D, numba), :mod:`.pipeline` (the
extractor).
"""

from __future__ import annotations

from ..settings import ENGINES
from ._jit import EngineUnavailableError, available

__all__ = ["ENGINES", "EngineUnavailableError", "available"]
