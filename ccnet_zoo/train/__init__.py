"""Training of CC-Net's three stages: ``ae`` (L1 + KL + patch adversarial), ``ldm`` (v-prediction MSE on
latents), ``controlnet`` (initialised from the trained UNet, UNet frozen).

Entry point: :func:`ccnet_zoo.train.api.train_stage`; ``python -m ccnet_zoo.train`` is the ``train`` command
(usable under ``torchrun`` for DDP). Modules: ``runtime`` (device, AMP, DDP, seeding), ``loop`` (epochs,
validation, checkpoints, resume), ``history`` (CSV + loss curve), ``data``, ``ae``, ``ldm``, ``controlnet``.
"""
