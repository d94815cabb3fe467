"""FRD/FID verdicts from the paired bootstrap over patients of the difference CC-Net − baseline: the exact d² per
resample, the shared draw, constructed inconclusive / decided cases, and the rows a metrics run keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import frd
from ccnet_zoo.metrics import MetricsError
from ccnet_zoo.metrics.frechet_rows import RowPair, frechet_d2_weighted
from ccnet_zoo.metrics.set_rows import SetRows, load_set_rows, save_set_rows
from ccnet_zoo.metrics.uncertainty import BETTER, INCONCLUSIVE, WORSE, paired_set_difference, patient_draws
from ccnet_zoo.reproduce.table import build_rows, markdown, to_csv, verdict


def _repeated_d2(x1: np.ndarray, x2: np.ndarray, w1: np.ndarray, w2: np.ndarray, method: str) -> float:
    """The definition: repeat every row as often as it was drawn, fit Gaussians, frd's Fréchet distance."""
    a, b = np.repeat(x1, w1.astype(int), axis=0), np.repeat(x2, w2.astype(int), axis=0)
    return frd.frechet_terms(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False), method).d2


@pytest.mark.parametrize(("n1", "n2", "p"), [(30, 25, 5), (12, 9, 4), (40, 40, 20), (8, 10, 30), (20, 16, 64)])
def test_exact_d2_equals_scipy_sqrtm_on_repeated_rows(n1: int, n2: int, p: int) -> None:
    rng = np.random.default_rng(n1 + p)
    x1, x2 = rng.normal(size=(n1, p)) * 3 + 1, rng.normal(0.5, 1.5, size=(n2, p))
    w1 = rng.multinomial(n1, np.full(n1, 1 / n1), size=6).astype(float)  # zeros included: rows left out
    w2 = rng.multinomial(n2, np.full(n2, 1 / n2), size=6).astype(float)
    w1[0], w2[0] = 1, 1  # the identity resample
    got = frechet_d2_weighted(x1, x2, w1, w2)
    scipy = np.array([_repeated_d2(x1, x2, a, b, "scipy") for a, b in zip(w1, w2, strict=True)])
    eigh = np.array([_repeated_d2(x1, x2, a, b, "eigh") for a, b in zip(w1, w2, strict=True)])
    # full rank: scipy's sqrtm is exact to round-off; rank-deficient (<= p distinct rows): sqrtm itself is off ~1e-8
    full = np.minimum((w1 > 0).sum(1), (w2 > 0).sum(1)) > p
    assert got[full] == pytest.approx(scipy[full], rel=1e-12) and got == pytest.approx(scipy, rel=1e-6)
    assert full[0] == (min(n1, n2) > p)  # the cases cover full-rank and rank-deficient sets
    assert got == pytest.approx(eigh, rel=1e-10)
    means = frechet_d2_weighted(x1, x2, w1, w2, means_only=True)
    assert means[0] == pytest.approx(float(((x1.mean(0) - x2.mean(0)) ** 2).sum()), rel=1e-12)
    with pytest.raises(MetricsError, match="at least 2"):
        RowPair.of(x1, x2).d2(np.eye(n1)[:1], np.ones((1, n2)))
    assert RowPair(x1, x2).image_space == (min(n1, n2) < p)  # both routes are covered by the cases


def test_blocks_of_resamples_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import ccnet_zoo.metrics.frechet_rows as fr

    rng = np.random.default_rng(11)
    for n, p in ((10, 30), (30, 5)):  # image space, feature space
        x1, x2 = rng.normal(size=(n, p)), rng.normal(size=(n, p))
        w = rng.multinomial(n, np.full(n, 1 / n), size=7).astype(float)
        whole = fr.RowPair(x1, x2).d2(w, w[::-1])
        monkeypatch.setattr(fr, "_BLOCK", 1)  # one resample per block
        assert fr.RowPair(x1, x2).d2(w, w[::-1]) == pytest.approx(whole, rel=1e-13)
        monkeypatch.undo()


def _rows(rng: np.random.Generator, shift: float, patients: int = 10, slices: int = 3, p: int = 6) -> SetRows:
    """Real rows N(0, 1) and synthetic rows N(shift, 1) per patient (``slices`` rows each), plus a patient offset."""
    pid = [f"P{i:02d}" for i in range(patients) for _ in range(slices)]
    offset = np.repeat(rng.normal(0, 0.3, (patients, p)), slices, axis=0)
    real = rng.normal(size=(len(pid), p)) + offset
    synth = rng.normal(shift, 1.0, size=(len(pid), p)) + offset
    return SetRows.of(real, synth, pid, pid)


def _shared_real(base: SetRows, model: SetRows) -> SetRows:
    """``model`` with the baseline's real rows: both comparisons share the real phase-k images."""
    return SetRows.of(base.real, model.synth, base.real_patients, model.synth_patients)


def test_clearly_below_zero_says_ccnet_better() -> None:
    rng = np.random.default_rng(0)
    base = _rows(rng, 2.0)
    model = _shared_real(base, _rows(rng, 0.2))
    diff, iv = paired_set_difference(base, model, n_resamples=200)
    assert iv.high < 0 and diff < 0 and iv.n_groups == 10 and iv.n == 30
    assert diff == pytest.approx(
        frechet_d2_weighted(model.real, model.synth, np.ones((1, 30)), np.ones((1, 30)))[0]
        - frechet_d2_weighted(base.real, base.synth, np.ones((1, 30)), np.ones((1, 30)))[0]
    )
    v = verdict(*_reports(base, model), "frd", (base, model))
    assert v["verdict"] == BETTER and v["difference_ci"][1] < 0 and v["ci"][0] > 0
    v = verdict(*_reports(model, base), "frd", (model, base))  # the rows swapped: the baseline wins
    assert v["verdict"] == WORSE and v["difference_ci"][0] > 0


def test_constructed_straddling_case_is_inconclusive() -> None:
    """Two synthetic sets equally far from the real one (shift +0.6 and -0.6): the difference straddles 0."""
    rng = np.random.default_rng(1)
    base = _rows(rng, 0.6)
    model = _shared_real(base, _rows(rng, -0.6))
    diff, iv = paired_set_difference(base, model, n_resamples=200)
    assert iv.low < 0 < iv.high and abs(diff) < (iv.high - iv.low) / 2
    assert verdict(*_reports(base, model), "fid", (base, model))["verdict"] == INCONCLUSIVE


def test_one_draw_for_both_comparisons() -> None:
    """Identical rows in both comparisons give a difference of exactly 0 on every draw: the patients resampled for
    the baseline are those resampled for CC-Net (independent draws would spread the difference around 0)."""
    base = _rows(np.random.default_rng(2), 1.0)
    diff, iv = paired_set_difference(base, base, n_resamples=200)
    assert diff == 0.0 and iv.low == 0.0 and iv.high == 0.0
    assert verdict(*_reports(base, base), "frd", (base, base))["verdict"] == INCONCLUSIVE
    # the draws are the per-pair metrics' draws (one seed, patients in sorted order)
    a, b = patient_draws(10, 50, 0), patient_draws(10, 50, 0)
    assert (a == b).all() and (a.sum(axis=1) == 10).all()


def test_only_shared_patients_are_resampled() -> None:
    rng = np.random.default_rng(3)
    base = _rows(rng, 2.0)
    model = _shared_real(base, _rows(rng, 0.2))
    keep = [i for i, p in enumerate(model.synth_patients) if p != "P00"]  # P00 has no synthetic image
    partial = SetRows.of(model.real, model.synth[keep], model.real_patients, [model.synth_patients[i] for i in keep])
    _, iv = paired_set_difference(base, partial, n_resamples=100)
    assert iv.n_groups == 9 and iv.n == 27
    lone = SetRows.of(model.real[:3], model.synth[:3], model.real_patients[:3], model.synth_patients[:3])
    with pytest.raises(MetricsError, match="share 1 patient"):
        paired_set_difference(base, lone)
    assert verdict(*_reports(base, lone), "frd", (base, lone))["verdict"] == "not available"


def test_log_preset_scores_the_difference_of_logs() -> None:
    rng = np.random.default_rng(4)
    base, model = _rows(rng, 2.0), _rows(rng, 0.5)
    lb = SetRows.of(base.real, base.synth, base.real_patients, base.synth_patients, log=True)
    lm = SetRows.of(model.real, model.synth, model.real_patients, model.synth_patients, log=True)
    d_lin, _ = paired_set_difference(base, model, n_resamples=20)
    d_log, _ = paired_set_difference(lb, lm, n_resamples=20)
    ones = (np.ones((1, 30)), np.ones((1, 30)))
    d2b = frechet_d2_weighted(base.real, base.synth, *ones)[0]
    d2m = frechet_d2_weighted(model.real, model.synth, *ones)[0]
    assert d_lin == pytest.approx(d2m - d2b) and d_log == pytest.approx(np.log(d2m) - np.log(d2b))


def _frd_rows(rng: np.random.Generator, shift: float, settings: frd.Settings) -> SetRows:
    """Raw 'radiomics' rows on very different scales per feature, scored by frd's ``settings``."""
    r = _rows(rng, shift, p=8)
    scale = np.geomspace(0.01, 1e4, 8)
    names = [f"original_firstorder_F{i}" for i in range(8)]
    return SetRows.of(
        r.real * scale + 5,
        r.synth * scale + 5,
        r.real_patients,
        r.synth_patients,
        log=settings.log,
        frd_settings=settings,
        names=names,
    )


@pytest.mark.parametrize("preset", ["ccnet", "v1"])
def test_frd_draws_are_frd_on_the_drawn_rows(preset: str) -> None:
    """Every draw's FRD is frd's own computation (normalization recomputed on the drawn rows, ``frd_from_stats``)
    on the rows repeated as drawn: the difference interval is that of the reported statistic."""
    from ccnet_zoo.metrics.uncertainty import _Scorer

    settings = frd.resolve_settings(preset, sqrtm="eigh")  # v1: z-score on the joint set, ln d²
    rng = np.random.default_rng(8)
    rows = _frd_rows(rng, 0.7, settings)
    patients = sorted(set(rows.real_patients))
    scorer = _Scorer(rows, patients)
    draws = patient_draws(len(patients), 5, 3)
    got = scorer(draws)
    for w, g in zip(draws, got, strict=True):
        idx = np.repeat(np.arange(len(rows.real)), w[[patients.index(p) for p in rows.real_patients]].astype(int))
        sa, sb = (frd.FeatureStats.from_features(x[idx], list(rows.names), settings) for x in (rows.real, rows.synth))
        # v1 takes its means in float32 (as frd-score does); d² here is float64 throughout
        assert g == pytest.approx(frd.frd_from_stats(sa, sb, settings).frd, rel=1e-9 if preset == "ccnet" else 1e-6)
    held = _Scorer(SetRows.of(rows.real, rows.synth, rows.real_patients, rows.synth_patients), patients)(draws)
    assert not np.allclose(held, got)  # raw rows used as they are would be a different statistic


def test_frd_rows_decide_like_fid_rows() -> None:
    """ccnet's per-set min-max normalization removes shifts and scales, so the constructed difference is one of
    structure: real and CC-Net rows share correlated features, the baseline's have the same marginals without the
    correlations."""
    settings = frd.resolve_settings("ccnet")
    rng = np.random.default_rng(9)
    pid = [f"P{i:02d}" for i in range(12) for _ in range(4)]
    mix = rng.normal(size=(2, 8))

    def correlated() -> np.ndarray:
        return rng.normal(size=(48, 2)) @ mix + 0.1 * rng.normal(size=(48, 8))

    real, close = correlated(), correlated()
    shuffled = rng.permuted(correlated(), axis=0)  # each column on its own: marginals kept, correlations gone
    names = [f"original_firstorder_F{i}" for i in range(8)]
    base, model = (SetRows.of(real, synth, pid, pid, frd_settings=settings, names=names) for synth in (shuffled, close))
    diff, iv = paired_set_difference(base, model, n_resamples=200)
    assert iv.high < 0 and iv.low < diff < iv.high


def _reports(base: SetRows, model: SetRows) -> tuple[dict, dict]:
    """MetricsReport dicts whose FRD/FID values are the identity-resample d² of the rows."""
    out = []
    for r in (base, model):
        d2 = float(frechet_d2_weighted(r.real, r.synth, np.ones((1, len(r.real))), np.ones((1, len(r.synth))))[0])
        res = {"status": "ok", "value": d2, "n": [len(r.real), len(r.synth)], "details": {}}
        out.append({"n_pairs": len(r.synth), "results": {"frd": res, "fid": dict(res)}})
    return out[0], out[1]


def test_rows_round_trip(tmp_path: Path) -> None:
    rows = {"frd": _rows(np.random.default_rng(5), 1.0), "fid": _rows(np.random.default_rng(6), 0.0, p=9)}
    rows["frd"] = _frd_rows(np.random.default_rng(5), 1.0, frd.resolve_settings("v1"))
    back = load_set_rows(save_set_rows(tmp_path / "r.rows.npz", rows))
    for k, r in rows.items():
        b = back[k]
        assert (b.real == r.real).all() and (b.synth == r.synth).all() and b.log == r.log
        assert b.real_patients == r.real_patients and b.synth_patients == r.synth_patients and b.names == r.names
    assert back["frd"].log and back["frd"].settings().hash == frd.resolve_settings("v1").hash
    with pytest.raises(MetricsError, match="no frd settings"):
        back["fid"].settings()
    with pytest.raises(MetricsError, match="one patient per row"):
        SetRows.of(np.zeros((3, 2)), np.zeros((3, 2)), ["a"] * 2, ["a"] * 3)


def test_table_carries_the_difference() -> None:
    rng = np.random.default_rng(7)
    base = _rows(rng, 2.0)
    model = _shared_real(base, _rows(rng, 0.2))
    b, c = _reports(base, model)
    found = {1: {m: verdict(b, c, m, (base, model)) for m in ("frd", "fid")}}
    for m in ("lpips", "mse", "ssim", "msssim", "psnr"):
        found[1][m] = {"verdict": "not available"}
    rows = build_rows({1: {"pre-contrast baseline": b, "CC-Net": c}}, found)
    ccnet = rows[1]
    assert rows[0]["frd_diff"] is None and ccnet["frd_verdict"] == BETTER
    assert ccnet["frd_diff"] == pytest.approx(c["results"]["frd"]["value"] - b["results"]["frd"]["value"])
    lo, hi = ccnet["frd_diff_ci"]
    assert lo < hi < 0
    csv = to_csv(rows)
    assert "frd_diff,frd_diff_ci,frd_verdict" in csv.splitlines()[0] and f"[{lo}, {hi}]" in csv
    md = markdown(rows, found)
    assert f"| 1 | {BETTER}: Δ {ccnet['frd_diff']:.4g} [{lo:.4g}, {hi:.4g}] |" in md


@pytest.mark.slow
def test_metrics_run_keeps_the_rows_of_the_reported_values(dataset: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """FRD (frd's normalized rows) and FID (activations of a tiny registered network) rows reproduce the reported
    values at the identity resample, survive the .npz, and decide the constructed dataset's verdicts."""
    import torch
    from torch import nn

    from ccnet_zoo.metrics import compute_metrics
    from ccnet_zoo.weights import Registry

    class Tiny(nn.Module):  # (N, 3, 299, 299) -> (N, 6), registered like the Inception file
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.conv = nn.Conv2d(3, 6, 9, stride=8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.conv(x)).mean(dim=(2, 3))

    path = tmp_path / "tiny-inception.pt"
    torch.jit.script(Tiny()).save(str(path))
    reg = Registry.load()
    reg.add("tiny-inception", file=path, kind="fid-inception")
    pre, real, synth = dataset
    kw = {"metrics": ["frd", "fid"], "inception": "tiny-inception", "registry": reg, "fid_sqrtm": "scipy"}
    base = compute_metrics(pre, real, phase=1, real_phase=0, **kw)
    model = compute_metrics(real, synth, phase=1, **kw)
    for rep in (base, model):
        rows = rep.set_rows()
        assert set(rows) == {"frd", "fid"} and "rows" not in rep.to_json()
        assert rows["frd"].real.shape == (9, rep["frd"].details["n_features"]) and rows["fid"].real.shape == (9, 6)
        assert sorted(set(rows["frd"].real_patients)) == ["Breast_MRI_001", "Breast_MRI_002", "Breast_MRI_010"]
        r = rows["fid"]  # the activations behind the reported FID
        fit = (r.real.mean(0), np.cov(r.real, rowvar=False), r.synth.mean(0), np.cov(r.synth, rowvar=False))
        assert frd.frechet_terms(*fit, method="scipy").d2 == pytest.approx(rep["fid"].value, rel=1e-12)
        assert frechet_d2_weighted(r.real, r.synth, np.ones((1, 9)), np.ones((1, 9)))[0] == pytest.approx(
            rep["fid"].value, rel=1e-9
        )
        r = rows["frd"]  # frd's raw rows: renormalized by the preset's arithmetic, they give the reported FRD
        assert r.settings().hash == frd.resolve_settings("ccnet").hash and len(r.names) == r.real.shape[1] == 93
        again = frd.frd_from_stats(
            *(frd.FeatureStats.from_features(x, list(r.names), r.settings()) for x in (r.real, r.synth)), r.settings()
        )
        assert again.frd == rep["frd"].value
        back = load_set_rows(save_set_rows(tmp_path / "r.npz", rows))
        assert (back["frd"].real == rows["frd"].real).all()
    b, c = base.to_dict(per_pair=True), model.to_dict(per_pair=True)
    bs, ms = base.set_rows(), model.set_rows()
    for m in ("frd", "fid"):  # a noisy copy of phase 1 against the pre-contrast images: clearly better
        v = verdict(b, c, m, (bs[m], ms[m]))
        assert v["verdict"] == BETTER and v["n_patients"] == 3 and v["difference_ci"][1] < 0, (m, v)
        # the identity draw reproduces the reported difference (9 images, 93 features: scipy's sqrtm ~1e-6 off)
        diff, _ = paired_set_difference(bs[m], ms[m], n_resamples=10)
        assert diff == pytest.approx(v["difference"], rel=1e-5)
    assert verdict(b, c, "frd")["verdict"] == "not available"  # no rows: never the old overlap rule
