"""Import MONAI without the optional packages it would import eagerly.

``import monai`` loads nearly every MONAI submodule, and each one tries its optional dependencies at import time
(``optional_import``): transformers, matplotlib, pandas, scipy, scikit-image, OpenCV... — about 10x the time of
MONAI itself, and none of them is used by the networks, losses and schedulers CC-Net takes from MONAI. While
MONAI is first imported those packages are hidden from it (MONAI then records them as unavailable for its own
optional features); they stay importable for everything else, e.g. transformers for the SD-2.1 path.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading

#: packages MONAI imports optionally that CC-Net's MONAI parts never use
HIDDEN = frozenset(
    {
        "transformers",
        "matplotlib",
        "pandas",
        "scipy",
        "skimage",
        "cv2",
        "sklearn",
        "SimpleITK",
        "nibabel",
        "itk",
        "tensorboard",
        "tensorboardX",
        "mlflow",
        "clearml",
        "ignite",
        "lmdb",
        "h5py",
        "zarr",
        "onnx",
        "onnxruntime",
        "torchvision",
        "tifffile",
        "cucim",
        "openslide",
        "nrrd",
        "gdown",
        "huggingface_hub",
        "fire",
        "pynvml",
        "psutil",
    }
)
_LOCK = threading.Lock()


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.split(".", 1)[0] in HIDDEN:
            raise ModuleNotFoundError(f"{name} is hidden while MONAI is imported (ccnet_zoo.models.monai_light)")
        return None


def light_monai() -> None:
    """Import ``monai`` once with :data:`HIDDEN` hidden; a no-op when MONAI is already imported."""
    if "monai" in sys.modules:
        return
    with _LOCK:
        if "monai" in sys.modules:
            return
        finder = _Hide()
        sys.meta_path.insert(0, finder)
        try:
            import monai
            import monai.networks.nets  # noqa: F401
        finally:
            sys.meta_path.remove(finder)
