"""In-process extraction runs on one ITK thread, as the pool's workers do, and gives the thread count back.

With two ITK threads, v1 on the same 3D images gave two numbers 2.4e-5 apart over repeated runs
(frd-score alike): the round-off ITK's threaded image handling leaves differs from run to run, and
v1 z-scores round-off columns. One thread makes the number the same every run.
"""

from __future__ import annotations

import SimpleITK as sitk

import frd
import frd.extract as extract


def test_in_process_extraction_uses_one_itk_thread_and_restores_the_count(monkeypatch, png_sets, tmp_path):
    seen: list[int] = []
    run_one = extract._run_one

    def spy(*args, **kwargs):
        seen.append(sitk.ProcessObject.GetGlobalDefaultNumberOfThreads())
        return run_one(*args, **kwargs)

    monkeypatch.setattr(extract, "_run_one", spy)
    before = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(3)
    try:
        frd.compute_frd(*png_sets, preset="ccnet", workers=1, cache=False)
        assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 3
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(before)
    assert seen and set(seen) == {1}
