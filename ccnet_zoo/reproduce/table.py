"""Table 1 from the per-phase metric reports: Markdown, CSV, JSON, and the paper's claim checked."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from ccnet_zoo.reproduce.config import METRICS, PAPER_VALUES, ROWS


def _cell(res: Mapping[str, Any]) -> str:
    if res.get("status") != "ok" or res.get("value") is None:
        fetch = res.get("fetch")
        return f"not available: run `{fetch}`" if fetch else f"not available: {res.get('message', '')}".strip()
    v, sd = float(res["value"]), res.get("std")
    return f"{v:.4g} ± {float(sd):.2g}" if sd is not None and math.isfinite(float(sd)) else f"{v:.4g}"


def build_rows(reports: Mapping[int, Mapping[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One row per (phase, method): ``reports[phase][method]`` is a MetricsReport dict."""
    rows = []
    for phase in sorted(reports):
        for method in ROWS:
            rep = reports[phase].get(method)
            if rep is None:
                continue
            row: dict[str, Any] = {"phase": phase, "method": method, "n_pairs": rep.get("n_pairs")}
            for m in METRICS:
                res = rep["results"].get(m, {"status": "skipped", "value": None})
                row[m] = res.get("value") if res.get("status") == "ok" else None
                row[f"{m}_std"] = res.get("std") if res.get("status") == "ok" else None
                row[f"{m}_n"] = res.get("n")
                row[f"{m}_cell"] = _cell(res)
            row["paper_frd"] = PAPER_VALUES.get((method, phase, "frd"))
            rows.append(row)
    return rows


def claim(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """Phases where CC-Net is closer to the real images than the pre-contrast input (lower is better)."""
    by = {(r["phase"], r["method"]): r for r in rows}
    wins, compared = [], []
    for phase in sorted({r["phase"] for r in rows}):
        b, c = by.get((phase, ROWS[0])), by.get((phase, ROWS[1]))
        if b and c and b[metric] is not None and c[metric] is not None:
            compared.append(phase)
            if c[metric] < b[metric]:
                wins.append(phase)
    return {"metric": metric, "phases_compared": compared, "phases_ccnet_better": wins, "wins": len(wins)}


def markdown(rows: list[dict[str, Any]]) -> str:
    from ccnet_zoo.metrics.table import LABELS

    names = " | ".join(LABELS.get(m, m.upper()) for m in METRICS)
    lines = [f"| phase | method | n pairs | {names} | paper FRD |", "|---" * (len(METRICS) + 4) + "|"]
    for r in rows:
        paper = f"{r['paper_frd']:.2f}" if r["paper_frd"] is not None else "—"
        cells = " | ".join(r[f"{m}_cell"] for m in METRICS)
        lines.append(f"| {r['phase']} | {r['method']} | {r['n_pairs']} | {cells} | {paper} |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    cols = ["phase", "method", "n_pairs"]
    for m in METRICS:
        cols += [m, f"{m}_std", f"{m}_n"]
    cols.append("paper_frd")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()})
    return buf.getvalue()
