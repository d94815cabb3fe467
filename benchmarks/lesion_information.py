"""How much lesion signal can any pre -> post model reach on a Table 1 run's data? (issue 11, item 5)

Trains a deterministic regression, ``post = pre + f(pre, acquisition time)`` (a MONAI ``BasicUNet``, loss
weighted like ``enhancement_weight: 10``), on the run's training split for a fixed CPU budget, predicts the test
pairs that CC-Net generated and prints the mean lesion grey level, synthetic minus real, per acquisition-time bin
(``ccnet_zoo.reproduce.figures.kinetics_data``, as ``reproduce`` reports it) for the regression and for CC-Net.
A regression estimates the conditional mean E[post | pre, t]: where it falls as far short of the real lesion
signal as the diffusion model, the pre-contrast image does not carry the information (it does not show which
bright patch will enhance like a lesion), and no sampler can close the gap on average.

    python benchmarks/lesion_information.py build/demo --out build/lesion-information --seconds 240

``--lesion-t1 T15 T3`` asks "what if the lesions differed from parenchyma before contrast": the run's phantom is
rebuilt into ``OUT/data`` with the lesions' T1 (ms at 1.5 T and 3 T; the phantom's 1300 / 1600, fibroglandular
tissue's 1266 / 1445) changed, and the regression is trained and scored there (no CC-Net gap: CC-Net was not
trained on those images).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def lesion_t1(values: tuple[float, float] | None) -> Iterator[None]:
    """The phantom's lesion T1 (1.5 T, 3 T) replaced while the block runs (a what-if, restored after)."""
    from ccnet_zoo.data.phantom import tissues

    old = tissues.T1_MS["lesion"]
    if values is not None:
        tissues.T1_MS["lesion"] = (float(values[0]), float(values[1]))
    try:
        yield
    finally:
        tissues.T1_MS["lesion"] = old


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a `ccnet-zoo reproduce --table 1 --out RUN` folder")
    parser.add_argument("--out", type=Path, required=True, help="new folder for the regression's images")
    parser.add_argument("--seconds", type=float, default=240.0, help="training budget (wall clock)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--lesion-t1", type=float, nargs=2, metavar=("T15", "T3"), help="rebuild the phantom with this lesion T1 (ms)"
    )
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out} exists: give a new folder")
    data = args.run / "data"
    if args.lesion_t1 is None and not (args.run / "generated" / "generated.tsv").is_file():
        parser.error(f"{args.run / 'generated' / 'generated.tsv'} does not exist: the run has generated nothing")
    if args.lesion_t1 is not None:
        if not (data / "dataset.json").is_file():
            parser.error(f"--lesion-t1 needs a phantom run; {data / 'dataset.json'} does not exist")
        info = json.loads((data / "dataset.json").read_text(encoding="utf-8"))
        if info.get("source") != "phantom":
            parser.error(f"--lesion-t1 needs a phantom run; {data} is {info.get('source')!r}")
        from ccnet_zoo.data.phantom.generator import PhantomConfig, generate_phantom

        data = args.out / "data"
        with lesion_t1(args.lesion_t1):
            generate_phantom(data, PhantomConfig(**info["config"]), progress=False)

    import torch
    from monai.networks.nets import BasicUNet
    from PIL import Image

    from ccnet_zoo.data.dataset import load_image
    from ccnet_zoo.pipeline.ccnet import to_uint8
    from ccnet_zoo.pipeline.generate import _write_manifest, read_manifest
    from ccnet_zoo.reproduce.figures import kinetics_data
    from ccnet_zoo.train.data import load_rows

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rows = load_rows(data)["train"]
    with Image.open(rows[0]["source"]) as first:
        size = first.size[0]
    pre = torch.stack([load_image(str(r["source"]), size) for r in rows])
    post = torch.stack([load_image(str(r["target"]), size) for r in rows])
    times = torch.tensor([float(r["acquisition_time"]) / 1000.0 for r in rows]).reshape(-1, 1, 1, 1)
    net = BasicUNet(spatial_dims=2, in_channels=2, out_channels=1, features=(16, 16, 32, 64, 128, 16))
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < args.seconds:
        idx = torch.randint(0, len(rows), (16,))
        x, y = pre[idx], post[idx]
        pred = x + net(torch.cat([x, times[idx].expand_as(x)], 1))
        w = 1 + 10 * (y - x).abs() / 2
        loss = ((pred - y) ** 2 * w).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    net.eval()
    if args.lesion_t1 is None:
        generated = read_manifest(args.run / "generated")
    else:  # the new phantom's test pairs; nothing was generated for them, "generated" only names the output
        generated = [{**r, "generated": f"p{r['phase']}/{Path(r['target']).name}"} for r in load_rows(data)["test"]]
    out_rows = []
    with torch.no_grad():
        for r in generated:
            x = load_image(r["source"], size)[None]
            t = torch.full_like(x, float(r["acquisition_time"]) / 1000.0)
            y = (x + net(torch.cat([x, t], 1))).clamp(-1, 1)
            path = args.out / Path(r["generated"]).parent.name / Path(r["generated"]).name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(to_uint8(y)[0]).save(path)
            out_rows.append({**r, "generated": str(path)})
    _write_manifest(args.out / "generated.tsv", out_rows)

    def gaps(folder: Path) -> list[float]:
        kd = kinetics_data(folder)
        return [round(c["signal"] - r["signal"], 1) for r, c in zip(kd["real"], kd["CC-Net"], strict=True)]

    real = [round(b["signal"], 1) for b in kinetics_data(args.out)["real"]]
    result = {
        "steps": steps,
        "seconds": round(time.perf_counter() - t0, 1),
        "real_lesion_signal": real,
        "regression_gap": gaps(args.out),
        "ccnet_gap": gaps(args.run / "generated") if args.lesion_t1 is None else None,
        "lesion_t1_ms": args.lesion_t1,
    }
    print(json.dumps(result))
    (args.out / "lesion_information.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
