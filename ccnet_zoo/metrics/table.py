"""Markdown rendering of metric results; an unavailable metric shows the command that fetches its weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ccnet_zoo.metrics.result import MetricResult, MetricsReport

LOWER_IS_BETTER = {"frd": True, "fid": True, "lpips": True, "mse": True, "ssim": False, "msssim": False, "psnr": False}
LABELS = {"msssim": "MS-SSIM"}


def format_cell(r: MetricResult, digits: int = 4) -> str:
    """``0.1234 ± 0.0100 (n=20)``, ``22.5 (n=20/20)`` or ``not available: run `ccnet-zoo weights fetch X```."""
    if not r.available or r.value is None:
        return f"not available: run `{r.fetch}`" if r.fetch else f"not available: {r.message}"
    n = "/".join(str(x) for x in r.n) if isinstance(r.n, list) else str(r.n)
    val = f"{r.value:.{digits}g}" if abs(r.value) >= 10**digits else f"{r.value:.{digits}f}"
    if r.std is not None:
        val += f" ± {r.std:.{digits}f}"
    return f"{val} (n={n})"


def report_table(report: MetricsReport, digits: int = 4) -> str:
    """One row per metric of a single comparison."""
    lines = ["| metric | value | n | note |", "|---|---|---|---|"]
    for name, r in report.results.items():
        n = "/".join(str(x) for x in r.n) if isinstance(r.n, list) else str(r.n)
        if r.available and r.value is not None:
            val = format_cell(r, digits).rsplit(" (n=", 1)[0]
            note = r.details.get("note", "")
        else:
            val, n, note = "not available", "-", (f"run `{r.fetch}`" if r.fetch else r.message)
        lines.append(f"| {LABELS.get(name, name.upper())} | {val} | {n} | {note} |")
    return "\n".join(lines)


def comparison_table(rows: Mapping[str, MetricsReport], metrics: Sequence[str] = ("frd", "fid", "lpips", "mse"),
                     digits: int = 4) -> str:  # fmt: skip
    """One row per labelled comparison (e.g. 'phase 1 / pre-contrast baseline'), one column per metric."""
    arrows = {m: "↓" if LOWER_IS_BETTER.get(m, True) else "↑" for m in metrics}
    head = "| | " + " | ".join(f"{LABELS.get(m, m.upper())} {arrows[m]}" for m in metrics) + " |"
    lines = [head, "|---" * (len(metrics) + 1) + "|"]
    for label, rep in rows.items():
        cells = [format_cell(rep.results[m], digits) if m in rep.results else "-" for m in metrics]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
