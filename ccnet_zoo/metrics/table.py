"""Markdown rendering of metric results; an unavailable metric shows the command that fetches its weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ccnet_zoo.metrics.registry import METRICS
from ccnet_zoo.metrics.result import MetricResult, MetricsReport

#: Kept for one release; read :data:`ccnet_zoo.metrics.registry.METRICS` instead.
LOWER_IS_BETTER = {name: m.lower_is_better for name, m in METRICS.items()}


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
    """One row per metric of a single comparison, with its 95 % interval (``details["ci"]``) and n."""
    lines = ["| metric | value | 95 % interval | n | note |", "|---|---|---|---|---|"]
    for name, r in report.results.items():
        n = "/".join(str(x) for x in r.n) if isinstance(r.n, list) else str(r.n)
        ci = r.details.get("ci") if r.available else None
        interval = f"[{ci['low']:.{digits}g}, {ci['high']:.{digits}g}]" if ci else "-"
        if r.available and r.value is not None:
            val = format_cell(r, digits).rsplit(" (n=", 1)[0]
            note = r.details.get("note", "")
        else:
            val, n, note = "not available", "-", (f"run `{r.fetch}`" if r.fetch else r.message)
        label = METRICS[name].label if name in METRICS else name.upper()
        lines.append(f"| {label} | {val} | {interval} | {n} | {note} |")
    return "\n".join(lines)


def comparison_table(
    rows: Mapping[str, MetricsReport], metrics: Sequence[str] = tuple(METRICS), digits: int = 4
) -> str:
    """One row per labelled comparison (e.g. 'phase 1 / pre-contrast baseline'), one column per metric."""
    head = "| | " + " | ".join(METRICS[m].header for m in metrics) + " |"
    lines = [head, "|---" * (len(metrics) + 1) + "|"]
    for label, rep in rows.items():
        cells = [format_cell(rep.results[m], digits) if m in rep.results else "-" for m in metrics]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
