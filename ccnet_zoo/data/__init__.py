"""Data layer of CC-Net: the DCE-MRI phantom, the Duke-Breast-Cancer-MRI preparation, datalists and datasets.

Modules (import what you need; nothing heavy is imported here):
``kinetics`` (Parker AIF, extended Tofts, SPGR), ``scanner``/``acquisition``/``clinical`` (Duke facts),
``anatomy``/``lesion``/``tissues`` (phantom model), ``phantom`` (generation), ``layout`` (files and naming),
``splits``, ``duke`` (+ ``duke_dicom``, ``duke_tables``, ``duke_synthetic``), ``datalist``, ``dataset``
(torch), ``preview`` (figures), ``prompts``, ``errors``.
"""
