"""Table 1 from the per-phase metric reports: every cell with n and a 95 % interval, a verdict per phase and
metric from the 95 % interval of the paired difference CC-Net − baseline, Markdown, CSV, JSON, and the paper's
claim checked against the verdicts (never against bare means)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from ccnet_zoo.metrics.errors import MetricsError
from ccnet_zoo.metrics.registry import METRICS as REGISTRY
from ccnet_zoo.metrics.set_rows import SetRows
from ccnet_zoo.metrics.uncertainty import (
    BETTER,
    INCONCLUSIVE,
    MIN_PAIRS,
    paired_difference,
    paired_set_difference,
    verdict_from_difference,
)
from ccnet_zoo.reproduce.config import METRICS, PAPER_VALUES, ROWS

#: the claim: CC-Net better than its pre-contrast input (interval of the difference excluding 0) in >= 3 phases
CLAIM_METRICS = ("frd", "mse", "fid", "lpips", "ssim")
NOT_AVAILABLE = "not available"


def _n(res: Mapping[str, Any]) -> int:
    n = res.get("n")
    return int(min(n)) if isinstance(n, list) and n else int(n or 0)


def _fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def _cell(res: Mapping[str, Any]) -> str:
    if res.get("status") != "ok" or res.get("value") is None:
        fetch = res.get("fetch")
        return f"{NOT_AVAILABLE}: run `{fetch}`" if fetch else f"{NOT_AVAILABLE}: {res.get('message', '')}".strip()
    ci = (res.get("details") or {}).get("ci")
    text = _fmt(float(res["value"]))
    if ci:
        text += f" [{_fmt(float(ci['low']))}, {_fmt(float(ci['high']))}]"
    n = res.get("n")
    text += f" (n={'/'.join(str(x) for x in n) if isinstance(n, list) else n})"
    if _n(res) < MIN_PAIRS:
        text += " †"
    return text


def build_rows(
    reports: Mapping[int, Mapping[str, Mapping[str, Any]]],
    found: Mapping[int, Mapping[str, Mapping[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """One row per (phase, method): ``reports[phase][method]`` is a MetricsReport dict. With the verdicts
    (``found``, :func:`verdicts`), the CC-Net row of each phase carries, per metric, the paired difference CC-Net −
    baseline (``{m}_diff``), its 95 % interval (``{m}_diff_ci``) and the verdict (``{m}_verdict``)."""
    rows = []
    for phase in sorted(reports):
        for method in ROWS:
            rep = reports[phase].get(method)
            if rep is None:
                continue
            row: dict[str, Any] = {"phase": phase, "method": method, "n_pairs": rep.get("n_pairs")}
            for m in METRICS:
                res = rep["results"].get(m, {"status": "skipped", "value": None})
                ok = res.get("status") == "ok"
                ci = (res.get("details") or {}).get("ci") if ok else None
                row[m] = res.get("value") if ok else None
                row[f"{m}_std"] = res.get("std") if ok else None
                row[f"{m}_n"] = res.get("n")
                row[f"{m}_ci"] = [ci["low"], ci["high"]] if ci else None
                row[f"{m}_cell"] = _cell(res)
                v = (found or {}).get(phase, {}).get(m) if method == ROWS[1] else None
                row[f"{m}_diff"] = v.get("difference") if v else None
                row[f"{m}_diff_ci"] = v.get("difference_ci") if v else None
                row[f"{m}_verdict"] = v.get("verdict") if v else None
            row["few_pairs"] = (rep.get("n_pairs") or 0) < MIN_PAIRS
            row["paper_frd"] = PAPER_VALUES.get((method, phase, "frd"))
            rows.append(row)
    return rows


def _by_key(rep: Mapping[str, Any], metric: str) -> dict[tuple[str, int], float] | None:
    values = rep["results"].get(metric, {}).get("per_pair")
    keys = rep.get("pair_keys")
    if not values or not keys or len(values) != len(keys):
        return None
    return {(str(k[0]), int(k[1])): float(v) for k, v in zip(keys, values, strict=True)}


def _decided(difference: float, low: float, high: float, lower: bool, **extra: Any) -> dict[str, Any]:
    """A verdict from the interval of CC-Net − baseline: better when it lies entirely on the metric's good side."""
    sign = -1.0 if lower else 1.0  # improvement: positive favours CC-Net
    imp_lo, imp_hi = sorted((sign * low, sign * high))
    return {
        "verdict": verdict_from_difference(imp_lo, imp_hi),
        "difference": difference,
        "difference_ci": [low, high],
        "improvement": sign * difference,
        "ci": [imp_lo, imp_hi],
        **extra,
    }


def verdict(
    baseline: Mapping[str, Any],
    model: Mapping[str, Any],
    metric: str,
    rows: tuple[SetRows, SetRows] | None = None,
) -> dict[str, Any]:
    """The verdict of one phase and metric from the baseline and CC-Net MetricsReport dicts.

    ``difference`` is CC-Net − baseline and ``difference_ci`` its 95 % paired-bootstrap interval (``improvement``
    and ``ci``: the same, signed so that positive favours CC-Net). Set metrics need ``rows``, the (baseline, CC-Net)
    feature rows of the metric (:meth:`ccnet_zoo.metrics.result.MetricsReport.set_rows`).
    """
    b, c = baseline["results"].get(metric, {}), model["results"].get(metric, {})
    if b.get("status") != "ok" or c.get("status") != "ok":
        return {"verdict": NOT_AVAILABLE}
    lower = REGISTRY[metric].lower_is_better
    if REGISTRY[metric].kind == "pair":  # a mean over pairs: the paired difference per (patient, slice)
        base, mod = _by_key(baseline, metric), _by_key(model, metric)
        if base is None or mod is None:
            return {"verdict": NOT_AVAILABLE, "why": "per-pair values missing (rerun the metrics stage)"}
        mean, iv = paired_difference(base, mod, lower_is_better=lower)
        sign = -1.0 if lower else 1.0
        low, high = sorted((sign * iv.low, sign * iv.high))
        return _decided(
            sign * mean,
            low,
            high,
            lower,
            n_pairs=iv.n,
            n_patients=iv.n_groups,
            n_resamples=iv.n_resamples,
            method="paired difference per (patient, slice), bootstrap over patients",
        )
    if rows is None:
        return {"verdict": NOT_AVAILABLE, "why": "per-image features missing (rerun the metrics stage)"}
    try:
        _, iv = paired_set_difference(*rows)
    except MetricsError as exc:  # e.g. fewer than 2 shared patients
        return {"verdict": NOT_AVAILABLE, "why": str(exc)}
    return _decided(
        float(c["value"]) - float(b["value"]),
        iv.low,
        iv.high,
        lower,
        n_images=iv.n,
        n_patients=iv.n_groups,
        n_resamples=iv.n_resamples,
        method=f"{iv.method}; {metric.upper()} recomputed from the per-image features on each draw",
    )


def verdicts(
    reports: Mapping[int, Mapping[str, Mapping[str, Any]]],
    rows: Mapping[int, Mapping[str, Mapping[str, SetRows]]] | None = None,
) -> dict[int, dict[str, dict[str, Any]]]:
    """``{phase: {metric: verdict}}`` for every phase with both rows; ``rows[phase][method][metric]`` are the set
    metrics' feature rows (without them FRD/FID say "not available")."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for phase in sorted(reports):
        b, c = reports[phase].get(ROWS[0]), reports[phase].get(ROWS[1])
        if b is None or c is None:
            continue
        found = {}
        for m in METRICS:
            rb, rc = ((rows or {}).get(phase, {}).get(method, {}).get(m) for method in ROWS)
            found[m] = verdict(b, c, m, (rb, rc) if rb is not None and rc is not None else None)
        out[phase] = found
    return out


def claim(found: Mapping[int, Mapping[str, Mapping[str, Any]]], metric: str) -> dict[str, Any]:
    """Phases where CC-Net is better than the pre-contrast input with the interval excluding 0."""
    compared = [p for p, v in found.items() if v[metric]["verdict"] != NOT_AVAILABLE]
    wins = [p for p in compared if found[p][metric]["verdict"] == BETTER]
    return {
        "metric": metric,
        "phases_compared": compared,
        "phases_ccnet_better": wins,
        "wins": len(wins),
        "phases_inconclusive": [p for p in compared if found[p][metric]["verdict"] == INCONCLUSIVE],
    }


def markdown(rows: list[dict[str, Any]], found: Mapping[int, Mapping[str, Mapping[str, Any]]] | None = None) -> str:
    names = " | ".join(REGISTRY[m].header for m in METRICS)
    lines = [f"| phase | method | n pairs | {names} | paper FRD |", "|---" * (len(METRICS) + 4) + "|"]
    for r in rows:
        paper = f"{r['paper_frd']:.2f}" if r["paper_frd"] is not None else "—"
        cells = " | ".join(r[f"{m}_cell"] for m in METRICS)
        lines.append(f"| {r['phase']} | {r['method']} | {r['n_pairs']} | {cells} | {paper} |")
    lines += [
        "",
        f"Cells: value [95 % interval] (n); † fewer than {MIN_PAIRS} pairs. Per-pair metrics: bootstrap "
        "over patients; FRD/FID: frd's bootstrap.",
    ]
    if found:
        lines += [
            "",
            f"| phase | {' | '.join(REGISTRY[m].label for m in METRICS)} |",
            "|---" * (len(METRICS) + 1) + "|",
        ]
        for phase, v in found.items():
            lines.append(f"| {phase} | " + " | ".join(_verdict_cell(v[m]) for m in METRICS) + " |")
        lines += [
            "",
            "Verdict: CC-Net better only when the 95 % interval of the paired difference Δ = CC-Net − baseline "
            "lies entirely on the metric's better side of 0 (below 0 for ↓, above for ↑), baseline better when "
            "it lies entirely on the other side, else inconclusive. Δ [95 % interval]: bootstrap over patients, "
            "one draw for both rows; per-pair metrics paired per (patient, slice), FRD/FID recomputed from the "
            "per-image features on each draw.",
        ]
    return "\n".join(lines) + "\n"


def _verdict_cell(v: Mapping[str, Any]) -> str:
    if v.get("difference") is None or v.get("difference_ci") is None:
        return str(v["verdict"])
    lo, hi = v["difference_ci"]
    return f"{v['verdict']}: Δ {_fmt(float(v['difference']))} [{_fmt(float(lo))}, {_fmt(float(hi))}]"


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One line per row; the CC-Net rows carry the paired difference, its interval and the verdict per metric."""
    cols = ["phase", "method", "n_pairs", "few_pairs"]
    for m in METRICS:
        cols += [m, f"{m}_std", f"{m}_n", f"{m}_ci", f"{m}_diff", f"{m}_diff_ci", f"{m}_verdict"]
    cols.append("paper_frd")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()})
    return buf.getvalue()
