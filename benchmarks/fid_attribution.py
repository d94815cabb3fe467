"""Where does CC-Net's FID gap come from on the phantom? (issue 11, item 5)

Takes a ``ccnet-zoo reproduce --table 1`` run on the phantom, redraws each test patient's tissue maps from the
phantom's own generator (the run's ``data/dataset.json`` holds its settings), and scores FID per phase for
variants of CC-Net's images that differ in one respect only:

* ``real <tissue>``: the pixels mostly of that tissue (fat, fgt, skin, muscle, blood, lung, lesion; ``air``: the
  rest) taken from the real post-contrast image — how much FID falls when CC-Net gets that tissue exactly right;
* ``blood: real level`` / ``blood: real texture``: CC-Net's blood pool shifted to the real mean, or the real blood
  pool shifted to CC-Net's mean — whether the blood pool costs FID through its level or its texture;
* ``change soft-shrunk`` / ``change hard-thresholded``: ``pre + shrink(generated - pre)`` at 3 noise SDs of the
  change (Donoho's estimate, the median absolute finest Haar diagonal coefficient / 0.6745), soft
  (``sign(d) max(|d| - t, 0)``) or hard (``d`` where ``|d| > t``) — whether the change's noise is what costs FID.

Every variant also gets the mean lesion grey level minus the real one per acquisition-time bin (as ``reproduce``
reports it), and the noise in air (SD of the pixels with no tissue) is printed for the real, pre-contrast and
CC-Net images. Only the run is read; everything goes to ``--out`` (a new folder).

    python benchmarks/fid_attribution.py build/demo --out build/fid-attribution
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

AIR_BELOW = 0.5  # a pixel whose tissue fractions sum to less than this is air
SHRINK_SDS = 3.0


def haar_noise_sd(d: np.ndarray) -> float:
    """Donoho's robust noise SD: median |finest Haar diagonal coefficient| / 0.6745."""
    d = d[: d.shape[0] // 2 * 2, : d.shape[1] // 2 * 2]
    hh = (d[0::2, 0::2] - d[0::2, 1::2] - d[1::2, 0::2] + d[1::2, 1::2]) / 2.0
    return float(np.median(np.abs(hh)) / 0.6745)


def tissue_labels(fractions: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """Per pixel the index of its largest tissue fraction, ``len(names)`` for air."""
    stack = np.stack([fractions[n] for n in names])
    labels = stack.argmax(0)
    labels[stack.sum(0) < AIR_BELOW] = len(names)
    return labels


def variants(names: tuple[str, ...]) -> dict[str, Callable[..., np.ndarray]]:
    """name -> f(real, generated, pre, labels) for every variant scored."""
    out: dict[str, Callable[..., np.ndarray]] = {"CC-Net": lambda real, gen, pre, lab: gen}
    for i, name in enumerate((*names, "air")):
        out[f"real {name}"] = lambda real, gen, pre, lab, i=i: np.where(lab == i, real, gen)
    blood = names.index("blood")

    def level(real: np.ndarray, gen: np.ndarray, pre: np.ndarray, lab: np.ndarray, real_texture: bool) -> np.ndarray:
        m = lab == blood
        if not m.any():
            return gen
        offset = real[m].mean() - gen[m].mean()
        return np.where(m, real - offset if real_texture else gen + offset, gen)

    out["blood: real level"] = lambda real, gen, pre, lab: level(real, gen, pre, lab, False)
    out["blood: real texture"] = lambda real, gen, pre, lab: level(real, gen, pre, lab, True)

    def shrunk(gen: np.ndarray, pre: np.ndarray, soft: bool) -> np.ndarray:
        d = gen - pre
        t = SHRINK_SDS * haar_noise_sd(d)
        return pre + (np.sign(d) * np.maximum(np.abs(d) - t, 0.0) if soft else np.where(np.abs(d) > t, d, 0.0))

    out["change soft-shrunk"] = lambda real, gen, pre, lab: shrunk(gen, pre, True)
    out["change hard-thresholded"] = lambda real, gen, pre, lab: shrunk(gen, pre, False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a `ccnet-zoo reproduce --table 1 --out RUN` folder on the phantom")
    parser.add_argument("--out", type=Path, required=True, help="new folder for the variants' images")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out} exists: give a new folder")
    manifest = args.run / "data" / "dataset.json"
    if not manifest.is_file():
        parser.error(f"{manifest} does not exist: give a `ccnet-zoo reproduce --table 1` run folder")
    info = json.loads(manifest.read_text(encoding="utf-8"))
    if info.get("source") != "phantom":
        parser.error(f"{args.run / 'data'} is not a phantom: tissue maps exist only for the phantom")
    if not (args.run / "generated" / "generated.tsv").is_file():
        parser.error(f"{args.run / 'generated' / 'generated.tsv'} does not exist: the run has generated nothing")

    from PIL import Image

    from ccnet_zoo.data.phantom.anatomy import TISSUES
    from ccnet_zoo.data.phantom.generator import PhantomConfig, sample_patient, simulate_patient
    from ccnet_zoo.metrics.compute import compute_metrics
    from ccnet_zoo.pipeline.generate import _write_manifest, read_manifest
    from ccnet_zoo.reproduce.figures import kinetics_data

    cfg = PhantomConfig(**info["config"])
    generated = read_manifest(args.run / "generated")
    if not generated:
        parser.error(f"{args.run / 'generated'} lists no images")
    wanted = {r["patient_id"] for r in generated}
    specs = {s.patient_id: s for s in (sample_patient(cfg, i) for i in range(cfg.patients)) if s.patient_id in wanted}
    labels: dict[tuple[str, int], np.ndarray] = {}
    for pid, spec in specs.items():
        fractions = simulate_patient(spec, cfg.size).anatomy.fractions
        for k, idx in enumerate(spec.slice_indices):
            labels[pid, idx] = tissue_labels({n: f[k] for n, f in fractions.items()}, TISSUES)

    def read(path: str) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im, dtype=np.float64)

    found = variants(TISSUES)
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in found}
    air: dict[str, list[np.ndarray]] = {"real": [], "pre-contrast": [], "CC-Net": []}
    for r in generated:
        lab = labels[r["patient_id"], int(r["slice"])]
        real, gen, pre = read(r["target"]), read(r["generated"]), read(r["source"])
        for name, series in (("real", real), ("pre-contrast", pre), ("CC-Net", gen)):
            air[name].append(series[lab == len(TISSUES)])
        for i, (name, make) in enumerate(found.items()):
            path = args.out / f"v{i:02d}" / Path(r["generated"]).parent.name / Path(r["generated"]).name
            path.parent.mkdir(parents=True, exist_ok=True)
            image = np.clip(np.rint(make(real, gen, pre, lab)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(path)
            rows[name].append({**r, "generated": str(path)})
    phases = sorted({int(r["phase"]) for r in generated})
    result: dict[str, object] = {
        "noise_sd_in_air": {name: round(float(np.concatenate(v).std()), 2) for name, v in air.items()},
        "variants": {},
    }
    for i, name in enumerate(found):
        folder = args.out / f"v{i:02d}"
        _write_manifest(folder / "generated.tsv", rows[name])
        fid = {}
        for k in phases:  # the manifest's own pairs (its targets may lie in more than one folder)
            pairs = [(Path(r["target"]), Path(r["generated"])) for r in rows[name] if int(r["phase"]) == k]
            real, synth = [a for a, _ in pairs], [b for _, b in pairs]
            report = compute_metrics(real, synth, phase=k, metrics=["fid"], fid_sqrtm="eigh")
            value = report.to_dict()["results"]["fid"].get("value")  # None: the Inception weights unavailable
            fid[k] = None if value is None else round(float(value), 1)
        kd = kinetics_data(folder)
        gap = [round(c["signal"] - r["signal"], 1) for r, c in zip(kd["real"], kd["CC-Net"], strict=True)]
        result["variants"][name] = {"folder": folder.name, "fid": fid, "lesion_gap": gap}  # type: ignore[index]
        print(f"{name:26s} FID {' / '.join(str(v) for v in fid.values())}  lesion gap {gap}", flush=True)
    table = args.run / "table.json"
    if table.is_file():
        base = [r for r in json.loads(table.read_text(encoding="utf-8"))["table"] if r["method"] != "CC-Net"]
        result["baseline_fid"] = {r["phase"]: round(r["fid"], 1) for r in base if r.get("fid") is not None}
    (args.out / "fid_attribution.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "variants"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
