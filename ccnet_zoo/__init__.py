"""CC-Net (ContrastControlNet) end to end: DCE-MRI data, models, training, sampling and evaluation.

Needs the ``zoo`` extra: ``pip install "frd[zoo]"``. ``from ccnet_zoo import CCNetPipeline`` imports torch
(on first use); ``import ccnet_zoo`` alone does not. See docs/architecture.md for the layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from frd._version import __version__

if TYPE_CHECKING:
    from ccnet_zoo.errors import CCNetZooError
    from ccnet_zoo.pipeline.ccnet import CCNetPipeline

__all__ = ["CCNetPipeline", "CCNetZooError", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so that ``ccnet-zoo --help`` and the weights commands never import torch.
    if name == "CCNetPipeline":
        from ccnet_zoo.pipeline.ccnet import CCNetPipeline

        return CCNetPipeline
    if name == "CCNetZooError":
        from ccnet_zoo.errors import CCNetZooError

        return CCNetZooError
    raise AttributeError(f"module 'ccnet_zoo' has no attribute {name!r}")
