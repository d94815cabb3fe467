"""Duke-Breast-Cancer-MRI (TCIA) -> the shared layout of :mod:`ccnet_zoo.data.layout`.

Modules: ``prepare`` (the conversion, resumable), ``dicom`` (series and tags), ``tables`` (the clinical and
annotation-box spreadsheets).
"""

from ccnet_zoo.data.duke.prepare import DukeConfig, DukeResult, prepare_duke

__all__ = ["DukeConfig", "DukeResult", "prepare_duke"]
