"""Sampling pieces below the pipeline: the DDIM loop with classifier-free guidance and ControlNet conditioning
scale (``ddim``), and the lesion-enhancement measurement of generated phantom images (``enhancement``).

The pipeline itself and batch generation live in :mod:`ccnet_zoo.pipeline`."""
