"""Scale-out on Dask: extraction as a bag over files, per-partition statistics merged exactly.

>>> stats = compute_stats_dask(["real/", "synth/"], resolve_settings("v1"), address="tcp://host:8786")  # doctest: +SKIP

Without ``address`` a ``LocalCluster`` on 127.0.0.1 is started (and closed) for the call. Each
partition returns raw float64 sufficient statistics; merging them (Chan's update) gives the
statistics of the whole set, so the FRD equals the single-machine FRD up to round-off (1e-12
relative with ``sqrtm="eigh"``; scipy's ``sqrtm`` of singular products amplifies round-off to ~1e-9).
The per-image cache works on the workers too when they share its folder.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._extras import install_command
from .cache import FeatureCache
from .errors import FRDError, TooFewImagesError
from .extract import ExtractionJob, extract_sets
from .io import ImageRef, discover, is_stats_file, pair_masks
from .settings import Settings
from .stats import FeatureStats

log = logging.getLogger(__name__)

#: Seconds to wait for a scheduler given by address before giving up with a one-line error.
CONNECT_TIMEOUT_S = 10.0


def _partition_stats(
    items: list[tuple[int, int, ImageRef, ImageRef | None]],
    settings: Settings,
    cache_dir: str | None,
    cache: bool,
    skip_invalid: bool,
) -> list[tuple[int, int, FeatureStats]]:
    out = []
    for j in sorted({i[0] for i in items}):
        mine = [i for i in items if i[0] == j]
        masks = [m for *_, m in mine]
        job = ExtractionJob([r for _, _, r, _ in mine], None if all(m is None for m in masks) else masks)
        table = extract_sets(
            [job], settings, workers=1, cache=FeatureCache(cache_dir, enabled=cache), skip_invalid=skip_invalid
        )[0]
        if table.n == 0 and not table.skipped:
            continue
        stats = FeatureStats.from_features(
            table.values.reshape(table.n, -1),
            table.names,
            settings,
            paths=table.paths,
            hashes=table.hashes,
            dim=table.dim,
            skipped=table.skipped,
        )
        out.append((j, mine[0][1], stats))
    return out


def compute_stats_dask(
    sources: Sequence[str | Path | Sequence[str | Path]],
    settings: Settings,
    *,
    masks: Sequence[str | Path | None] | None = None,
    recursive: bool = False,
    address: str | None = None,
    n_workers: int = 2,
    partition_size: int = 8,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    skip_invalid: bool = False,
    connect_timeout: float | None = None,
) -> list[FeatureStats]:
    """Statistics of each source, extracted on a Dask cluster (statistics files are loaded here).

    A scheduler at ``address`` that does not answer within ``connect_timeout`` seconds (default
    :data:`CONNECT_TIMEOUT_S`) is an :class:`FRDError` naming the address.
    """
    try:
        import dask.bag as db
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise FRDError(f"--scheduler dask needs dask and distributed: {install_command('dask')}") from exc
    masks = list(masks) if masks is not None else [None] * len(sources)
    items: list[tuple[int, int, ImageRef, ImageRef | None]] = []
    loaded: dict[int, FeatureStats] = {}
    for j, src in enumerate(sources):
        if isinstance(src, (str, Path)) and is_stats_file(src):
            loaded[j] = FeatureStats.load(src)
            continue
        refs = discover(src, recursive=recursive)
        mrefs = pair_masks(refs, discover(masks[j], recursive=recursive)) if masks[j] else [None] * len(refs)
        items += [(j, k, r, m) for k, (r, m) in enumerate(zip(refs, mrefs, strict=True))]
    if items:
        cluster = None
        if address:
            timeout = CONNECT_TIMEOUT_S if connect_timeout is None else connect_timeout
            try:
                client = Client(address, timeout=timeout)
            except (OSError, TimeoutError) as exc:  # refused, unreachable, or silent past the timeout
                raise FRDError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s: {exc}") from exc
        else:
            cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            )
            client = Client(cluster)
        try:
            bag = db.from_sequence(items, partition_size=partition_size)
            cdir = str(cache_dir) if cache_dir is not None else str(FeatureCache().root)
            parts = bag.map_partitions(_partition_stats, settings, cdir, cache, skip_invalid).compute()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        for j in sorted({p[0] for p in parts}):
            merged: Any = None
            for _, _, st in sorted((p for p in parts if p[0] == j), key=lambda p: p[1]):
                merged = st if merged is None else merged.merge(st)
            merged.source = str(sources[j]) if isinstance(sources[j], (str, Path)) else ""
            loaded[j] = merged
    out = []
    for j in range(len(sources)):
        if j not in loaded or loaded[j].n == 0:
            raise TooFewImagesError(f"no usable image in {sources[j]}")
        out.append(loaded[j])
    return out
