"""Data layer of CC-Net: the DCE-MRI phantom, the Duke-Breast-Cancer-MRI preparation, datalists and datasets.

Subpackages: ``phantom`` (the simulated data), ``duke`` (the real data's conversion). Shared by both:
``layout`` (files and naming), ``splits``, ``datalist``, ``dataset`` (torch), ``prompts``, ``preview``
(figures), ``errors``. Nothing heavy is imported here.
"""
