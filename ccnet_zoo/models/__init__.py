"""CC-Net networks: autoencoder, latent diffusion UNet, ControlNet, text encoders and checkpoints.

Modules: ``config`` (YAML configs + validation), ``acq_time`` (acquisition-time MLP), ``autoencoder``
(MONAI AutoencoderKL + patch discriminator behind the :class:`~ccnet_zoo.models.autoencoder.Autoencoder`
interface), ``unet`` / ``controlnet`` (MONAI networks behind the denoiser interfaces), ``text`` (built-in
tokenizer + encoder), ``clip`` (CLIP via transformers), ``sd`` (Stable Diffusion 2.1-base via diffusers),
``factory`` (build everything from a config), ``loading`` (rebuild trained runs), ``checkpoint``
(safetensors + JSON), ``legacy`` (monai-generative checkpoints), ``schedulers`` (DDPM/DDIM), ``errors``.
Nothing heavy is imported here.
"""
