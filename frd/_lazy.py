"""Heavy modules imported on first use, so that ``import frd`` and a fully cached run stay light.

``sitk`` stands for ``SimpleITK`` (about 0.1 s to import): modules write ``sitk.ReadImage`` as
usual and the import happens on the first attribute access.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """A module imported on first attribute access."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._target: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr == "_target":
            raise AttributeError(attr)
        if self._target is None:
            self._target = importlib.import_module(self.__name__)
        return getattr(self._target, attr)


sitk: Any = LazyModule("SimpleITK")
