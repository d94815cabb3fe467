"""GPU check of ccnet_zoo: the tiny Table 1 training + generation, and paper-size throughput, in one table.

    python benchmarks/gpu/check.py                    # the GPU (cuda:LOCAL_RANK), full sizes, <= 6 minutes
    python benchmarks/gpu/check.py --device cpu       # reduced sizes, end to end on a CPU
    python benchmarks/gpu/check.py --scale tiny       # what CI runs (seconds)

Needs torch, numpy, pillow, pyyaml, click, tqdm, einops, safetensors and MONAI; never SimpleITK, pyradiomics,
pooch or platformdirs (no metric is computed: Table 1's metrics run on the CPU machine from ``--out``).
Part 1 runs ``phantom`` -> ``train ae/ldm/controlnet`` (config ``tiny``) -> ``generate`` through ccnet_zoo's own
code (bf16 autocast, channels_last, fused AdamW, SDPA attention, preloaded data, no per-step sync on a GPU).
Part 2 times one training step of the paper-size AE (aekl_v0, 224 px), LDM UNet and ControlNet (ldm_v6 /
controlnet_v1, 28x28 latents) and one DDIM step of UNet + ControlNet: steps/s, achieved TFLOP/s
(``torch.utils.flop_counter``), peak memory. See benchmarks/gpu/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from a checkout without installing it
    sys.path.insert(0, str(ROOT))

#: nominal dense bf16 peak (TFLOP/s) by device-name substring, for the fraction column
PEAKS = {"H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0}
#: per scale: phantom, tiny-config epochs per stage, DDIM steps; paper-size batch (LDM/ControlNet, DDIM, AE),
#: latent side, image side, timed steps
SCALES: dict[str, dict[str, Any]] = {
    "full": {
        "patients": 96,
        "slices": 4,
        "size": 64,
        "epochs": None,
        "steps": None,
        "networks": "controlnet_v1",
        "batch": 32,
        "sample_batch": 64,
        "ae_batch": 8,
        "latent": 28,
        "timed": 10,
    },
    "small": {
        "patients": 16,
        "slices": 2,
        "size": 64,
        "epochs": 1,
        "steps": 4,
        "networks": "controlnet_v1",
        "batch": 2,
        "sample_batch": 2,
        "ae_batch": 1,
        "latent": 8,
        "timed": 2,
    },
    "tiny": {
        "patients": 8,
        "slices": 1,
        "size": 32,
        "epochs": 1,
        "steps": 2,
        "networks": "tiny",
        "batch": 2,
        "sample_batch": 2,
        "ae_batch": 2,
        "latent": 8,
        "timed": 1,
    },
}


def _sync(dev: Any) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def table1(dev: Any, scale: dict[str, Any], out: Path, threads: int) -> dict[str, Any]:
    """The tiny Table 1 run without its metrics: seconds per stage, images/s of generation."""
    from ccnet_zoo.data.phantom import PhantomConfig, generate_phantom
    from ccnet_zoo.models.config import load_config
    from ccnet_zoo.pipeline import CCNetPipeline, generate_split
    from ccnet_zoo.train.api import train_stage
    from ccnet_zoo.train.data import load_rows

    res: dict[str, Any] = {}
    t0 = time.perf_counter()
    data = out / "data"
    pc = PhantomConfig(patients=scale["patients"], slices=scale["slices"], size=scale["size"], seed=0)
    generate_phantom(data, pc, overwrite=True, progress=False)
    res["data_s"] = round(time.perf_counter() - t0, 2)
    over: dict[str, Any] = {}
    if scale["epochs"]:
        over["train"] = {s: {"epochs": scale["epochs"], "batch_size": 2} for s in ("ae", "mean", "ldm", "controlnet")}
    if scale["size"] != 64:
        over["image_size"] = scale["size"]
    cfg = load_config("tiny", over)
    runs = out / "runs"
    residual = cfg["ldm"].get("target") == "residual"
    stages = ("ae", "mean", "ldm", "controlnet") if residual else ("ae", "ldm", "controlnet")
    for stage in stages:
        t = time.perf_counter()
        links = {
            "ae": runs / "ae" if stage in ("ldm", "controlnet") else None,
            "ldm": runs / "ldm" if stage == "controlnet" else None,
            "mean": runs / "mean" if residual and stage in ("ldm", "controlnet") else None,
        }
        train_stage(
            stage, cfg, data, runs / stage, overwrite=True, device=str(dev), threads=threads, progress=False, **links
        )
        _sync(dev)
        res[f"train_{stage}_s"] = round(time.perf_counter() - t, 2)
    pipe = CCNetPipeline.from_pretrained(runs / "controlnet", dev)
    rows = load_rows(data, pipe.config.text.source)["test"]
    t = time.perf_counter()
    gen = generate_split(
        pipe,
        rows,
        out / "generated",
        batch_size=64 if dev.type == "cuda" else 16,
        steps=scale["steps"],
        seed=0,
        overwrite=True,
        progress=False,
    )
    res["generate_s"] = round(time.perf_counter() - t, 2)
    res["generated_images"] = gen.n_images
    res["train_total_s"] = round(sum(res[f"train_{s}_s"] for s in stages), 2)
    return res


def _measure(dev: Any, fn: Any, timed: int) -> dict[str, Any]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    fn()  # warm-up (cuDNN autotune, allocator)
    fn()
    _sync(dev)
    with FlopCounterMode(display=False) as fc:
        fn()
    _sync(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t = time.perf_counter()
    for _ in range(timed):
        fn()
    _sync(dev)
    dt = (time.perf_counter() - t) / timed
    r = {
        "steps_per_s": round(1 / dt, 2),
        "tflop_per_step": float(f"{fc.get_total_flops() / 1e12:.4g}"),  # significant digits: tiny steps are < 1e-4
        "tflops": round(fc.get_total_flops() / dt / 1e12, 2),
    }
    if dev.type == "cuda":
        r["peak_mem_gib"] = round(torch.cuda.max_memory_allocated(dev) / 2**30, 2)
    return r


def paper(dev: Any, scale: dict[str, Any], compile_: bool) -> dict[str, dict[str, Any]]:
    """One training step of the paper-size AE, LDM UNet and ControlNet, and one DDIM step (UNet + ControlNet).

    ``scale["networks"]`` names the config the networks come from (``tiny`` in CI)."""
    import torch

    from ccnet_zoo.models.config import load_config
    from ccnet_zoo.train.runtime import Runtime, channels_last_wanted

    cfg = load_config(scale["networks"], typed=True)
    rt = Runtime.create(str(dev), amp=True, amp_dtype="bf16")
    rt.channels_last = channels_last_wanted("auto", rt.device)
    L, D = scale["latent"], cfg.ldm.params["cross_attention_dim"]
    cond_levels = len(cfg.controlnet.params.get("conditioning_embedding_num_channels", (16, 32, 96, 256)))
    S = L * 2 ** (cond_levels - 1)  # the pre-contrast image that the ControlNet embeds down to the latent size
    g = torch.Generator(device="cpu").manual_seed(0)

    def inputs(b: int) -> tuple[torch.Tensor, ...]:
        c = cfg.ldm.params["in_channels"]
        return (
            rt.to_device(torch.randn(b, c, L, L, generator=g)),
            torch.randint(0, 1000, (b,)).to(dev),
            torch.randn(b, 77, D, generator=g).to(dev),
            (torch.rand(b, 1, generator=g) * 400).to(dev),
            rt.to_device(torch.rand(b, 1, S, S, generator=g) * 2 - 1),
        )

    out: dict[str, dict[str, Any]] = {}
    _diffusion(dev, cfg, rt, scale, compile_, inputs, out)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    _autoencoder(dev, cfg, rt, scale, compile_, S, g, out)
    return out


def _diffusion(
    dev: Any, cfg: Any, rt: Any, scale: dict[str, Any], compile_: bool, inputs: Any, out: dict[str, Any]
) -> None:
    """LDM and ControlNet training steps and a DDIM step, in a function so that the networks are freed after."""
    import torch
    import torch.nn.functional as F

    from ccnet_zoo.models.controlnet import MonaiController
    from ccnet_zoo.models.unet import MonaiDenoiser
    from ccnet_zoo.train.runtime import Stepper, adamw, compile_module

    B = scale["batch"]
    unet = rt.place(MonaiDenoiser(cfg.ldm.params, 1.0))
    ctrl = rt.place(MonaiController(cfg.controlnet.params, 1.0))
    ctrl.init_from(unet)
    out["params_m"] = {
        "unet": round(sum(p.numel() for p in unet.parameters()) / 1e6, 1),
        "controlnet": round(sum(p.numel() for p in ctrl.parameters()) / 1e6, 1),
    }
    fwd_unet, fwd_ctrl = compile_module(unet, compile_), compile_module(ctrl, compile_)
    x, t, ctx, acq, cond = inputs(B)
    ldm = Stepper(adamw(unet.parameters(), 5e-5, 0.01, rt.device), None, rt.scale_loss)

    def ldm_step() -> None:
        with rt.autocast():
            loss = F.mse_loss(fwd_unet(x, t, ctx, acq).float(), x.float())
        ldm.step(loss)

    out[f"ldm_train_b{B}"] = _measure(dev, ldm_step, scale["timed"])
    unet.requires_grad_(False)
    cn = Stepper(adamw(ctrl.parameters(), 5e-5, 0.01, rt.device), None, rt.scale_loss)

    def ctrl_step() -> None:
        with rt.autocast():
            down, mid = fwd_ctrl(x, t, cond, ctx, acq)
            loss = F.mse_loss(fwd_unet(x, t, ctx, acq, down, mid).float(), x.float())
        cn.step(loss)

    out[f"controlnet_train_b{B}"] = _measure(dev, ctrl_step, scale["timed"])
    xs, ts, cs, accs, conds = inputs(scale["sample_batch"])

    @torch.no_grad()
    def ddim_step() -> None:
        with rt.autocast():
            down, mid = fwd_ctrl(xs, ts, conds, cs, accs)
            fwd_unet(xs, ts, cs, accs, down, mid)

    r = _measure(dev, ddim_step, scale["timed"])
    r["images_per_s_at_200_steps"] = round(scale["sample_batch"] * r["steps_per_s"] / 200, 2)
    out[f"ddim_step_b{scale['sample_batch']}"] = r


def _autoencoder(
    dev: Any, cfg: Any, rt: Any, scale: dict[str, Any], compile_: bool, S: int, g: Any, out: dict[str, Any]
) -> None:
    """One training step of the autoencoder (L1 + the forward/backward of stage 1) at S x S."""
    import torch

    from ccnet_zoo.models.autoencoder import MonaiAutoencoder
    from ccnet_zoo.train.runtime import Stepper, adamw, compile_module

    ae = rt.place(MonaiAutoencoder(cfg.autoencoder.params, 1.0))
    fwd_ae = compile_module(ae, compile_)
    img = rt.to_device(torch.rand(scale["ae_batch"], 1, S, S, generator=g) * 2 - 1)
    aes = Stepper(adamw(ae.parameters(), 1e-4, 0.01, rt.device), None, rt.scale_loss)

    def ae_step() -> None:
        with rt.autocast():
            loss = (fwd_ae(img)[0].float() - img.float()).abs().mean()
        aes.step(loss)

    out[f"ae_train_b{scale['ae_batch']}_{S}px"] = _measure(dev, ae_step, scale["timed"])


def render(env: dict[str, Any], t1: dict[str, Any], pp: dict[str, Any], peak: float | None) -> str:
    """One Markdown table (docs/performance.md takes it as it is)."""
    lines = [
        f"device: {env['device_name']} ({env['device']}), torch {env['torch']}, MONAI {env['monai']}, "
        f"bf16 autocast {env['bf16']}, scale {env['scale']}, total {env['total_s']} s",
        "",
        "| what | steps/s | TFLOP/s | % of bf16 peak | peak GiB | other |",
        "|---|---|---|---|---|---|",
    ]
    stage_keys = [f"train_{s}_s" for s in ("ae", "mean", "ldm", "controlnet", "total")]
    for key in ("data_s", *stage_keys, "generate_s"):
        if key in t1:
            extra = f"{t1['generated_images']} images" if key == "generate_s" else ""
            lines.append(f"| tiny Table 1: {key[:-2]} | | | | | {t1[key]} s {extra}".rstrip() + " |")
    for key, r in pp.items():
        if key == "params_m":
            continue
        frac = f"{100 * r['tflops'] / peak:.1f}" if peak else "n/a"
        other = f"{r['images_per_s_at_200_steps']} images/s at 200 steps" if "images_per_s_at_200_steps" in r else ""
        lines.append(
            f"| {env['networks']}: {key} | {r['steps_per_s']} | {r['tflops']} | {frac} | "
            f"{r.get('peak_mem_gib', '')} | {other} |"
        )
    if "params_m" in pp:
        lines += ["", f"parameters: UNet {pp['params_m']['unet']} M, ControlNet {pp['params_m']['controlnet']} M"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=None, help="cuda, cuda:N or cpu [default: the GPU when present]")
    ap.add_argument("--scale", choices=sorted(SCALES), default=None, help="[default: full on a GPU, small on CPU]")
    ap.add_argument("--out", type=Path, default=Path("build/gpu-check"), help="run folder (replaced)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    ap.add_argument("--skip", choices=["table1", "paper"], action="append", default=[], help="leave a part out")
    ap.add_argument("--compile", action="store_true", help="torch.compile the paper-size networks (part 2)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak of the device")
    ap.add_argument("--threads", type=int, default=max(1, min(8, os.cpu_count() or 1)), help="CPU threads")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    import monai
    import torch

    from ccnet_zoo.device import bf16_supported, use_device

    dev = use_device(args.device, args.threads)
    scale_name = args.scale or ("full" if dev.type == "cuda" else "small")
    scale = SCALES[scale_name]
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    peak = args.peak_tflops or next((v for k, v in PEAKS.items() if k in name), None)
    env = {
        "device": str(dev),
        "device_name": name,
        "torch": torch.__version__,
        "monai": monai.__version__,
        "bf16": bf16_supported(dev),
        "scale": scale_name,
        "networks": scale["networks"],
        "peak_tflops_bf16": peak,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    t1 = table1(dev, scale, args.out, args.threads) if "table1" not in args.skip else {}
    pp = paper(dev, scale, args.compile) if "paper" not in args.skip else {}
    env["total_s"] = round(time.perf_counter() - t_start, 1)
    print(render(env, t1, pp, peak))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"env": env, "table1": t1, "paper": pp}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
