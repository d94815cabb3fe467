"""The DCE-MRI phantom: virtual patients drawn with Duke's frequencies, simulated with pharmacokinetics.

Modules: ``kinetics`` (Parker AIF, extended Tofts, SPGR), ``scanner``/``acquisition``/``clinical`` (the
Duke facts the phantom draws from), ``anatomy``/``lesion``/``tissues`` (the phantom's body), ``generator``
(patients -> the shared layout of :mod:`ccnet_zoo.data.layout`).
"""

from ccnet_zoo.data.phantom.generator import (
    PatientImages,
    PatientSpec,
    PhantomConfig,
    PhantomResult,
    generate_phantom,
    sample_patient,
    simulate_patient,
)

__all__ = [
    "PatientImages",
    "PatientSpec",
    "PhantomConfig",
    "PhantomResult",
    "generate_phantom",
    "sample_patient",
    "simulate_patient",
]
