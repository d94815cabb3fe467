"""The fast engine's texture matrices on a torch device, batched across images (``engine="torch"``).

Every image of a batch is binned on the CPU as :mod:`.discretize` does, padded into one
``(B, Z, Y, X)`` integer tensor (level 0 = outside the ROI, a border of zeros as wide as the
largest offset) and sent to the device once. The matrices are then counted there for the whole
batch with tensor operations (shifted comparisons, ``bincount``/``index_add``, pointer doubling),
never per voxel:

* GLCM (symmetric), GLDM and NGTDM: one shifted view of the batch per neighbour offset;
* GLRLM: a run starts where the voxel one step back is not the same level in the ROI; its length
  is found by pointer doubling along the angle (log2 of the longest run steps); an angle whose
  lines never hold two ROI voxels is zeroed, as pyradiomics does (lines are told apart by the
  cross product of a voxel's position with the angle, constant along a line);
* GLSZM: connected zones of one level as the connected components of a graph of ROI voxels
  (root hooking and pointer jumping, O(log n) rounds).

The counts are integers, so they equal the numba kernels' (and pyradiomics') exactly; the NGTDM
sums are float64 and differ only in summation order. The features are then pyradiomics' formulas
of :mod:`.features` on the CPU (float64), image by image: the matrices are small, the voxel work
is what the device takes. ``torch`` is imported only when this module's functions run.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._extras import install_command
from . import features as F
from ._jit import EngineUnavailableError
from .discretize import Binned, discretize

#: Environment variable naming the torch device of ``engine="torch"`` (default: ``cuda`` when available).
DEVICE_ENV = "FRD_TORCH_DEVICE"


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # the extra is missing: a typed, worded error
        raise EngineUnavailableError(f"the torch radiomics engine needs torch: {install_command('torch')}") from exc
    return torch


def default_device() -> str:
    """``$FRD_TORCH_DEVICE`` if set, else ``cuda`` when torch sees a GPU, else ``cpu``."""
    chosen = os.environ.get(DEVICE_ENV)
    if chosen:
        return chosen
    return "cuda" if _torch().cuda.is_available() else "cpu"


@dataclass
class Batch:
    """Binned images of one batch, padded onto one grid and moved to ``device``."""

    img: Any  # (B, Zp, Yp, Xp) int64 tensor, level 0 outside every ROI
    pad: tuple[int, int, int]
    shape: tuple[int, int, int]  # common unpadded (Z, Y, X)
    ng: int  # the largest Ng of the batch


def make_batch(binned: Sequence[Binned], angles: np.ndarray, device: Any) -> Batch:
    """Pad every binned 3D image (z, y, x; 0 outside its ROI) to one grid with a border of zeros."""
    torch = _torch()
    pad = tuple(int(np.abs(angles[:, d]).max(initial=0)) for d in range(3))
    shape = tuple(max(b.image.shape[d] for b in binned) for d in range(3))
    grid = np.zeros((len(binned), *(s + 2 * p for s, p in zip(shape, pad, strict=True))), dtype=np.int64)
    for k, b in enumerate(binned):
        z, y, x = b.image.shape
        grid[k, pad[0] : pad[0] + z, pad[1] : pad[1] + y, pad[2] : pad[2] + x] = b.image
    return Batch(torch.from_numpy(grid).to(device), pad, shape, max(b.ng for b in binned))  # type: ignore[arg-type]


def _offset(batch: Batch, angle: Sequence[int]) -> int:
    _, _, yp, xp = batch.img.shape
    return int((angle[0] * yp + angle[1]) * xp + angle[2])


def neighbourhood(batch: Batch, both: np.ndarray, sym_index: np.ndarray, n_sym: int, alpha: int) -> tuple[Any, ...]:
    """Symmetric GLCM (sparse over (B, Ng, Ng, n_sym), see :func:`sparse_counts`), GLDM (B, Ng, Na + 1) and
    NGTDM (B, Ng, 3) of every image, counted on the device.

    The same definitions as :func:`.matrices.neighbourhood`: ``both`` holds each offset and its
    opposite, ``sym_index`` maps an offset to its GLCM angle. The GLCM stays sparse: a dense one
    would take B * Ng² cells for the largest Ng of the batch.
    """
    torch = _torch()
    img = batch.img
    nb, ng = img.shape[0], batch.ng
    flat = img.reshape(-1)
    roi = flat > 0
    idx = torch.nonzero(roi).squeeze(1)
    gi = flat[idx]
    image_of = idx // (flat.numel() // nb)
    row = image_of * ng + gi - 1  # (image, level) of every ROI voxel
    cells = []
    dep = torch.zeros_like(gi)
    count = torch.zeros_like(gi)
    total = torch.zeros_like(gi)
    for a in range(len(both)):
        gj = flat[idx + _offset(batch, both[a])]
        inside = gj > 0
        cells.append(((row * ng + gj - 1) * n_sym + int(sym_index[a]))[inside])
        dep += (inside & ((gi - gj).abs() <= alpha)).long()
        count += inside.long()
        total += torch.where(inside, gj, 0)
    gldm = torch.bincount(row * (len(both) + 1) + dep, minlength=nb * ng * (len(both) + 1))
    diff = torch.where(count > 0, (gi.double() - total.double() / count.clamp(min=1).double()).abs(), 0.0)
    ngtdm = torch.zeros((nb * ng, 3), dtype=torch.float64, device=img.device)
    ngtdm[:, 0].index_add_(0, row, torch.ones_like(diff))
    ngtdm[:, 1].index_add_(0, row, diff)
    ngtdm[:, 2] = (torch.arange(nb * ng, device=img.device) % ng + 1).double()
    return (
        sparse_counts(torch.cat(cells)),
        gldm.reshape(nb, ng, len(both) + 1).cpu().numpy(),
        ngtdm.reshape(nb, ng, 3).cpu().numpy(),
    )


def sparse_counts(cells: Any) -> tuple[np.ndarray, np.ndarray]:
    """How often each flat cell index occurs: (sorted distinct cells, counts), on the CPU."""
    uniq, counts = _torch().unique(cells, return_counts=True)
    return uniq.cpu().numpy(), counts.cpu().numpy()


def image_matrix(
    sparse: tuple[np.ndarray, np.ndarray], image: int, full: tuple[int, ...], shape: tuple[int, ...]
) -> np.ndarray:
    """Image ``image``'s float64 matrix of ``shape`` from sparse counts over (B, *full) cells."""
    cells, counts = sparse
    per = int(np.prod(full))
    lo, hi = np.searchsorted(cells, [image * per, (image + 1) * per])
    out = np.zeros(shape)
    out[np.unravel_index(cells[lo:hi] - image * per, full)] = counts[lo:hi]
    return out


def glrlm(batch: Batch, angles: np.ndarray, nr: int) -> Any:
    """Run-length counts as :func:`.matrices.glrlm` counts them, sparse over (B, Ng, nr, Na) cells."""
    torch = _torch()
    img = batch.img
    nb, ng = img.shape[0], batch.ng
    flat = img.reshape(-1)
    n = flat.numel()
    per_image = n // nb
    inside = torch.nonzero(flat > 0).squeeze(1)  # ROI voxels, numbered 0..R-1 in raster order
    level = flat[inside]
    image = inside // per_image
    cell_base = (image * ng + level - 1) * nr
    compact = torch.full((n,), -1, dtype=torch.int64, device=img.device)
    own = torch.arange(len(inside), device=img.device)
    compact[inside] = own
    zyx = None
    na = len(angles)
    cells = []
    for a, angle in enumerate(angles):
        off = _offset(batch, angle)  # the zero border keeps every ROI voxel's neighbours in its image
        cont = flat[inside + off] == level  # the run goes on one step further
        start = flat[inside - off] != level  # the voxel one step back is not in the run
        # pointer doubling: steps[p] = min(steps the run continues from p, 2**k), jump[p] = p + 2**k steps
        steps = cont.long()
        jump = torch.where(cont, compact[inside + off], own)
        reach = 1
        while bool((steps == reach).any()):
            full = steps == reach
            steps = torch.where(full, steps + steps[jump], steps)
            jump = torch.where(full, jump[jump], jump)
            reach *= 2
        runs = ((cell_base + steps) * na + a)[start]  # steps = run length - 1
        # An angle is dropped for an image whose lines along it hold at most one ROI voxel each (a flat
        # ROI across it). Two adjacent ROI voxels settle it; otherwise lines are told apart by the cross
        # product of a voxel's position with the angle, which is constant along a line.
        adjacent = torch.bincount(image[flat[inside + off] > 0], minlength=nb) > 0
        if bool(adjacent.all()):
            cells.append(runs)
            continue
        if zyx is None:
            zyx = torch.stack(torch.unravel_index(inside % per_image, img.shape[1:]), 1)
        half = 2 * max(img.shape[1:])  # |a component of zyx x angle| <= half
        span = 2 * half + 1
        direction = torch.tensor([int(v) for v in angle], device=img.device).expand(len(inside), 3)
        line = torch.linalg.cross(zyx, direction) + half
        key = ((image * span + line[:, 0]) * span + line[:, 1]) * span + line[:, 2]
        _, which, voxels = torch.unique(key, return_inverse=True, return_counts=True)
        multi = torch.zeros(nb, dtype=torch.int64, device=img.device)
        multi.scatter_reduce_(0, image, voxels[which], "amax")
        keep = adjacent | (multi > 1)
        cells.append(runs[keep[image[start]]])
    return sparse_counts(torch.cat(cells))


def glszm_zones(batch: Batch, both: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every zone of the batch (connected voxels of one level, neighbours = ``both``): (image, level, size).

    Connected components of the graph whose nodes are the ROI voxels (numbered in raster order) and
    whose edges join neighbours of one level: each round hooks every component root onto the smallest
    root among its members' neighbours, then compresses every label to its root (pointer jumping);
    labels only decrease, so the fixed point labels each zone by its first voxel, in O(log n) rounds.
    """
    torch = _torch()
    img = batch.img
    nb = img.shape[0]
    flat = img.reshape(-1)
    n = flat.numel()
    inside = torch.nonzero(flat > 0).squeeze(1)
    compact = torch.full((n,), -1, dtype=torch.int64, device=img.device)
    compact[inside] = torch.arange(len(inside), device=img.device)
    sources, targets = [], []
    for angle in both:
        j = inside + _offset(batch, angle)
        linked = flat[j] == flat[inside]  # outside the ROI the level is 0, never equal
        sources.append(compact[inside[linked]])
        targets.append(compact[j[linked]])
    src, dst = torch.cat(sources), torch.cat(targets)
    label = torch.arange(len(inside), device=img.device)
    while True:
        hooked = label.scatter_reduce(0, label[dst], label[src], "amin")
        while True:
            jumped = hooked[hooked]
            if torch.equal(jumped, hooked):
                break
            hooked = jumped
        if torch.equal(hooked, label):
            break
        label = hooked
    sizes = torch.bincount(label, minlength=len(inside))
    zone = torch.nonzero(sizes).squeeze(1)  # compact index of each zone's first voxel
    first = inside[zone]
    return (
        (first // (n // nb)).cpu().numpy(),
        flat[first].cpu().numpy(),
        sizes[zone].cpu().numpy(),
    )


def _glszm_matrix(levels: np.ndarray, sizes: np.ndarray, ng: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, sizes) of one image from its zones, as :func:`.matrices.glszm` returns them."""
    occurring, column = np.unique(sizes, return_inverse=True)
    p = np.zeros((ng, occurring.size))
    np.add.at(p, (levels - 1, column), 1.0)
    return p, occurring.astype(np.float64)


def compute_texture_batch(
    jobs: Sequence[tuple[np.ndarray, np.ndarray, tuple[float, ...], str]],
    enabled: dict[str, list[str] | None],
    settings: dict[str, Any],
    device: Any = None,
) -> list[collections.OrderedDict[str, float]]:
    """:func:`.pipeline.compute_texture` for many images of one setting at once: the matrices of every
    job (``(array, roi, spacing, image type)``, all of one dimensionality) are counted on ``device``
    in one batch, then pyradiomics' formulas run per image."""
    from .pipeline import TEXTURE_CLASSES, _angles, _as3d, _feature_names, _symmetric_index_cached

    device = default_device() if device is None else device
    classes = [c for c in enabled if not c.startswith("shape")]
    for c in classes:
        if c not in TEXTURE_CLASSES:
            raise EngineUnavailableError(f"the fast engine has no feature class {c!r}; use --engine pyradiomics")
    outs: list[collections.OrderedDict[str, float]] = [collections.OrderedDict() for _ in jobs]
    if not classes or not jobs:
        return outs
    binned = [discretize(arr, roi, settings) for arr, roi, _, _ in jobs]
    for b in binned:
        b.image = np.ascontiguousarray(_as3d(b.image))
    # angles depend on the image shape (a dimension of size 1 moves no angle): one batch per angle set
    groups: dict[bytes, list[int]] = collections.defaultdict(list)
    dist = settings.get("distances", [1])
    for k, (arr, _, _, _) in enumerate(jobs):
        key = _angles(arr.shape, settings, True, dist).tobytes() + _angles(arr.shape, settings, True, [1]).tobytes()
        groups[key].append(k)
    results: dict[int, dict[str, Any]] = {}
    for members in groups.values():
        shape = jobs[members[0]][0].shape
        both = _angles(shape, settings, True, dist)
        one = _angles(shape, settings, False, dist)
        both1 = _angles(shape, settings, True, [1])
        one1 = _angles(shape, settings, False, [1])
        batch = make_batch([binned[k] for k in members], np.concatenate([both, both1]), device)
        got: dict[str, Any] = {}
        if {"glcm", "gldm", "ngtdm"} & set(classes):
            sym = _symmetric_index_cached(shape, settings, dist)
            alpha = int(settings.get("gldm_a", 0))
            got["near"] = neighbourhood(batch, both, sym, len(one), alpha)
        if "glrlm" in classes:
            nr = max(max(jobs[k][0].shape) for k in members)
            got["glrlm"] = glrlm(batch, one1, nr)
            got["glrlm_full"] = (batch.ng, nr, len(one1))
        if "glszm" in classes:
            got["glszm"] = glszm_zones(batch, both1)
        for i, k in enumerate(members):
            results[k] = {"i": i, "ng": batch.ng, **got}
    for k, (arr, _, spacing, image_type) in enumerate(jobs):
        b, r = binned[k], results[k]
        i, ng = r["i"], b.ng
        present = b.levels - 1
        out = outs[k]
        for cls_name in classes:
            names = _feature_names(cls_name, enabled[cls_name])
            if cls_name == "firstorder":
                values = F.firstorder_features(b.values, b.counts, spacing, settings.get("voxelArrayShift", 0), names)
            elif cls_name == "glcm":
                n_sym = len(_angles(arr.shape, settings, False, settings.get("distances", [1])))
                full = (r["ng"], r["ng"], n_sym)
                counts = image_matrix(r["near"][0], i, full, (ng, ng, n_sym))
                values = F.glcm_features(counts, present, b.levels, ng, names)
            elif cls_name == "gldm":
                values = F.gldm_features(r["near"][1][i, :ng].astype(np.float64)[present], b.levels, names)
            elif cls_name == "ngtdm":
                values = F.ngtdm_features(np.ascontiguousarray(r["near"][2][i, :ng]), names)
            elif cls_name == "glrlm":
                full = r["glrlm_full"]
                counts = image_matrix(r["glrlm"], i, full, (ng, int(max(arr.shape)), full[2]))
                values = F.glrlm_features(np.ascontiguousarray(counts[present]), b.levels, names)
            else:  # glszm
                image, level, size = r["glszm"]
                mine = image == i
                p, sizes = _glszm_matrix(level[mine], size[mine], ng)
                values = F.glszm_features(p[present], sizes, b.levels, names)
            for name, value in values.items():
                out[f"{image_type}_{cls_name}_{name}"] = value
    return outs
