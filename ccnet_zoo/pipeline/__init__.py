"""The pipeline layer: a trained CC-Net as one object, its one loader, and batch generation over a split.

``ccnet`` (:class:`CCNetPipeline` with ``from_pretrained``/``save_pretrained``), ``loading`` (run folders,
bundle files and registered names), ``generate`` (a datalist split -> per-phase PNG folders + ``generated.tsv``).
Importing this package imports torch.
"""

from ccnet_zoo.pipeline.ccnet import CCNetPipeline, Guidance, item_noise, to_uint8
from ccnet_zoo.pipeline.generate import MANIFEST, GenerateResult, generate_split, read_manifest
from ccnet_zoo.pipeline.loading import BUNDLE_FORMAT, NotABundleError

__all__ = [
    "BUNDLE_FORMAT",
    "MANIFEST",
    "CCNetPipeline",
    "GenerateResult",
    "Guidance",
    "NotABundleError",
    "generate_split",
    "item_noise",
    "read_manifest",
    "to_uint8",
]
