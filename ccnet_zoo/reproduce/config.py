"""Settings of a Table 1 run, and the only published number that could be retrieved."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ccnet_zoo.metrics.registry import METRICS as REGISTRY

#: (row, phase, metric) -> value from the CC-Net paper (MICCAI 2024, Table 1). Only the phase-1 FRD of
#: CC-Net could be retrieved (../shared/reference/ccnet-reference.md); other cells are never invented.
PAPER_VALUES: dict[tuple[str, int, str], float] = {("CC-Net", 1, "frd"): 22.50}

#: Table 1's metric columns: every registered metric, in the registry's order.
METRICS = tuple(REGISTRY)
ROWS = ("pre-contrast baseline", "CC-Net")


@dataclass(frozen=True)
class ReproduceConfig:
    """What to run. The defaults are the embedded run: phantom + tiny CC-Net on this machine's CPU."""

    out: Path = Path("runs/table1")
    data: str = "phantom"  # or "duke"
    data_root: Path | None = None  # a prepared dataset (required for duke)
    # Sized for the 20-minute CPU budget: the tiny model's cost is per training image, while the
    # metrics need many test images, so more patients with fewer slices each.
    patients: int = 96
    slices: int = 4
    size: int = 64
    seed: int = 0
    # Every test patient has all four post phases (>= 40 test pairs in each), and one intensity window per
    # patient across pre and post phases, so the table measures enhancement (docs/reproduce.md).
    split: str = "random-allphases"
    intensity: str = "patient"
    config: str = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None  # a registry name: skip training
    steps: int | None = None  # DDIM steps (default: the config's)
    batch_size: int = 16
    device: str | None = None
    threads: int = 1
    paper_quirks: bool = False
    frd_preset: str = "ccnet"
    fid_sqrtm: str = "eigh"  # 1.7 s instead of 17 s per FID at 2048-d; agrees with scipy to ~1e-3
    phases: tuple[int, ...] = (1, 2, 3, 4)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["data_root"] = str(self.data_root) if self.data_root else None
        d["phases"] = list(self.phases)
        return d
