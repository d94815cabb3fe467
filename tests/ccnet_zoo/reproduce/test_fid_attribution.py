"""benchmarks/fid_attribution.py: which tissue of CC-Net's images costs FID on the phantom (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from zoo_helpers import benchmark_module


def _module():
    return benchmark_module("fid_attribution")


def test_haar_noise_sd_estimates_white_noise_and_ignores_smooth_structure() -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:128, :128]
    smooth = 80 * np.exp(-((yy - 64) ** 2 + (xx - 50) ** 2) / 400.0) + 0.3 * xx
    for sd in (2.0, 5.0, 12.0):
        est = _module().haar_noise_sd(smooth + rng.normal(0, sd, smooth.shape))
        assert abs(est - sd) < 0.1 * sd
    assert _module().haar_noise_sd(smooth) < 0.05  # structure alone is not noise


def test_labels_partition_the_image_and_variants_change_only_their_pixels() -> None:
    m = _module()
    names = ("fat", "fgt", "skin", "muscle", "blood", "lung", "lesion")
    shape = (6, 6)
    fractions = {n: np.zeros(shape, np.float32) for n in names}
    fractions["fat"][:2] = 1.0
    fractions["blood"][2:4] = 0.7
    fractions["fgt"][2:4] = 0.3  # blood wins the mixed rows
    fractions["lung"][4, :] = 0.2  # below the air threshold
    labels = m.tissue_labels(fractions, names)
    assert (labels[:2] == names.index("fat")).all() and (labels[2:4] == names.index("blood")).all()
    assert (labels[4:] == len(names)).all()
    rng = np.random.default_rng(1)
    real, gen, pre = (rng.uniform(0, 255, shape) for _ in range(3))
    found = m.variants(names)
    assert np.array_equal(found["CC-Net"](real, gen, pre, labels), gen)
    blood = found["real blood"](real, gen, pre, labels)
    assert np.array_equal(blood[2:4], real[2:4])
    assert np.array_equal(np.delete(blood, [2, 3], 0), np.delete(gen, [2, 3], 0))
    level = found["blood: real level"](real, gen, pre, labels)[2:4]
    texture = found["blood: real texture"](real, gen, pre, labels)[2:4]
    assert level.mean() == pytest.approx(real[2:4].mean())
    assert np.allclose(level - gen[2:4], level[0, 0] - gen[2, 0])  # one offset for the whole pool
    assert texture.mean() == pytest.approx(gen[2:4].mean())
    assert np.allclose(texture - real[2:4], texture[0, 0] - real[2, 0])
    assert np.array_equal(found["real air"](real, gen, pre, labels)[4:], real[4:])
    # shrinking the change: small changes vanish, large ones keep their sign (soft: shortened by the threshold)
    d = np.zeros(shape)
    d[0, 0], d[1, 1] = 100.0, -100.0
    soft = found["change soft-shrunk"](real, pre + d, pre, labels) - pre
    hard = found["change hard-thresholded"](real, pre + d, pre, labels) - pre
    assert np.array_equal(hard, d) and np.array_equal(soft, d)  # noise SD 0 here: nothing to shrink
    noisy = d + rng.normal(0, 1, shape)
    soft = found["change soft-shrunk"](real, pre + noisy, pre, labels) - pre
    assert 0 < soft[0, 0] < noisy[0, 0] and 0 > soft[1, 1] > noisy[1, 1]
    assert np.abs(soft).sum() < np.abs(noisy).sum()


class _Report:
    def __init__(self, value: float) -> None:
        self.value = value

    def to_dict(self) -> dict:
        return {"results": {"fid": {"value": self.value}}}


def test_attribution_runs_on_a_run_folder_and_writes_only_its_own(
    table_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ccnet_zoo.metrics.compute
    from ccnet_zoo.pipeline.generate import read_manifest

    # FID itself is tested with the metrics; here only which folders are scored (the Inception network on
    # 13 variants would take minutes where it is cached, and is absent offline)
    calls: list[tuple[list[Path], list[Path], int]] = []

    def fake_fid(real: list[Path], synth: list[Path], *, phase: int, metrics: list[str], fid_sqrtm: str) -> _Report:
        assert metrics == ["fid"]
        calls.append((real, synth, phase))
        return _Report(10.0 * phase + len(calls) / 1000)

    monkeypatch.setattr(ccnet_zoo.metrics.compute, "compute_metrics", fake_fid)

    run = table_run
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*"))
    out = tmp_path / "out"
    assert _module().main([str(run), "--out", str(out)]) == 0
    result = json.loads((out / "fid_attribution.json").read_text(encoding="utf-8"))
    assert set(result["noise_sd_in_air"]) == {"real", "pre-contrast", "CC-Net"}
    variants = result["variants"]
    assert {"CC-Net", "real blood", "real air", "blood: real texture", "change soft-shrunk"} <= set(variants)
    n = len(list((run / "generated").glob("p*/*.png")))
    phases = sorted({int(p.parent.name[1:]) for p in (run / "generated").glob("p*/*.png")})
    assert len(calls) == len(variants) * len(phases)
    manifest = read_manifest(run / "generated")
    targets = {(int(r["phase"]), Path(r["generated"]).name): Path(r["target"]) for r in manifest}
    for v in variants.values():
        assert len(list((out / v["folder"]).glob("p*/*.png"))) == n
        scored = [(real, synth, k) for real, synth, k in calls if synth[0].parent.parent.name == v["folder"]]
        assert [k for _, _, k in scored] == phases
        for real, synth, k in scored:  # every image of phase k, each against its own real target
            assert sorted(synth) == sorted((out / v["folder"] / f"p{k}").glob("*.png"))
            assert [Path(t).resolve() for t in real] == [targets[k, p.name].resolve() for p in synth]
        assert [int(k) for k in v["fid"]] == phases and all(round(f) == 10 * int(k) for k, f in v["fid"].items())
    # the unchanged variant is CC-Net's images byte for byte
    cc = out / variants["CC-Net"]["folder"]
    for p in (run / "generated").glob("p*/*.png"):
        assert np.array_equal(np.asarray(Image.open(p)), np.asarray(Image.open(cc / p.parent.name / p.name)))
    assert "noise_sd_in_air" in capsys.readouterr().out
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*")) == before  # the run is only read
    with pytest.raises(SystemExit) as err:  # never into an existing folder
        _module().main([str(run), "--out", str(out)])
    assert err.value.code == 2


def test_refuses_a_folder_that_is_not_a_phantom_run(tmp_path: Path) -> None:
    (tmp_path / "run" / "data").mkdir(parents=True)
    with pytest.raises(SystemExit) as err:
        _module().main([str(tmp_path / "run"), "--out", str(tmp_path / "out")])
    assert err.value.code == 2
    (tmp_path / "run" / "data" / "dataset.json").write_text('{"source": "duke"}', encoding="utf-8")
    with pytest.raises(SystemExit) as err:
        _module().main([str(tmp_path / "run"), "--out", str(tmp_path / "out")])
    assert err.value.code == 2 and not (tmp_path / "out").exists()
    (tmp_path / "run" / "data" / "dataset.json").write_text('{"source": "phantom"}', encoding="utf-8")
    with pytest.raises(SystemExit) as err:  # nothing generated yet
        _module().main([str(tmp_path / "run"), "--out", str(tmp_path / "out")])
    assert err.value.code == 2 and not (tmp_path / "out").exists()
