"""The noise schedulers of CC-Net (MONAI core): DDPM for training, DDIM for sampling, from ``scheduler``.

>>> from ccnet_zoo.models.config import load_config
>>> ddpm = build_ddpm(load_config("tiny", typed=True).scheduler)
>>> ddpm.num_train_timesteps, ddpm.prediction_type
(1000, 'v_prediction')
"""

from __future__ import annotations

from typing import Any

from ccnet_zoo.models.config import SchedulerConfig
from ccnet_zoo.models.monai_light import light_monai


def _args(cfg: SchedulerConfig) -> dict[str, Any]:
    return {
        "num_train_timesteps": int(cfg.num_train_timesteps),
        "schedule": str(cfg.schedule),
        "beta_start": float(cfg.beta_start),
        "beta_end": float(cfg.beta_end),
        "prediction_type": str(cfg.prediction_type),
        "clip_sample": False,
    }


def build_ddpm(cfg: SchedulerConfig):
    """``DDPMScheduler`` (training: ``add_noise``, ``get_velocity``)."""
    light_monai()
    from monai.networks.schedulers import DDPMScheduler

    return DDPMScheduler(**_args(cfg))


def build_ddim(cfg: SchedulerConfig, steps: int):
    """``DDIMScheduler`` with ``steps`` inference steps (ccnet: ``set_alpha_to_one=True``, offset 0, eta 0)."""
    light_monai()
    from monai.networks.schedulers import DDIMScheduler

    ddim = DDIMScheduler(**_args(cfg), set_alpha_to_one=True, steps_offset=0)
    ddim.set_timesteps(int(steps))
    return ddim
