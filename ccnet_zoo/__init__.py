"""CC-Net (ContrastControlNet) end to end: DCE-MRI data, models, training, sampling and evaluation.

Needs the ``zoo`` extra: ``pip install "frd-radiomics[zoo]"`` (the SD-2.1 path: ``[sd]``).
"""

from frd._version import __version__

__all__ = ["__version__"]
