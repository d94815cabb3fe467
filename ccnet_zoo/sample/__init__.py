"""Sampling CC-Net: DDIM with classifier-free guidance and ControlNet conditioning scale (``ddim``), the
pipeline built from trained runs (``pipeline``), batched generation into per-phase folders (``generate``)
and the lesion-enhancement measurement on the phantom (``enhancement``)."""
