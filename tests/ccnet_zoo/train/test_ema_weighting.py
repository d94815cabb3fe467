"""Moving average of the weights (``train.<stage>.ema_decay``) and the enhancement-weighted diffusion loss
(``train.<stage>.enhancement_weight``)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ccnet_zoo.models.config import load_config
from ccnet_zoo.models.errors import CheckpointError, ModelError
from ccnet_zoo.train.diffusion import DiffusionObjective
from ccnet_zoo.train.ema import EMA, averages
from ccnet_zoo.train.runtime import Runtime


def _linear(value: float) -> torch.nn.Linear:
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.fill_(value)
        lin.bias.fill_(value)
    return lin


def test_ema_follows_the_warm_up_then_the_decay() -> None:
    lin = _linear(0.0)
    ema = EMA(lin, 0.5)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    ema.update()  # r = min(0.5, 2/11): 0 * r + 1 * (1 - r)
    assert ema.updates == 1
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 1 - 2 / 11))
    assert torch.allclose(ema.shadow["bias"], torch.zeros(1))  # the bias did not move
    for _ in range(20):
        ema.update()
    assert ema.rate() == 0.5  # (1 + n) / (10 + n) passed the decay
    assert torch.allclose(ema.shadow["weight"], torch.ones(1, 2), atol=1e-5)


def test_applied_swaps_the_average_in_and_back_out() -> None:
    lin = _linear(0.0)
    ema = EMA(lin, 0.9)
    with torch.no_grad():
        lin.weight.fill_(2.0)
    ema.update()
    averaged = ema.shadow["weight"].clone()
    assert not torch.equal(averaged, lin.weight)
    with ema.applied():
        assert torch.equal(lin.weight, averaged)
    assert torch.equal(lin.weight, torch.full((1, 2), 2.0))  # the trained weights are back


def test_checkpoint_round_trip_and_errors() -> None:
    lin = _linear(1.0)
    ema = EMA(lin, 0.9)
    ema.update()
    saved = ema.tensors("ema.lin")
    assert set(saved) == {"ema.lin.weight", "ema.lin.bias"}
    other = EMA(_linear(5.0), 0.9)
    other.load(saved, "ema.lin", ema.updates)
    assert other.updates == 1 and all(torch.equal(other.shadow[k], ema.shadow[k]) for k in ema.shadow)
    with pytest.raises(CheckpointError, match="no moving average"):
        other.load({}, "ema.lin", 1)
    with pytest.raises(ModelError, match="ema_decay"):
        EMA(lin, 1.0)
    assert averages(lin, "lin", None) == {} and averages(lin, "lin", 0.0) == {}
    assert set(averages(lin, "lin", 0.99)) == {"lin"}


def _objective(weight: float | None) -> DiffusionObjective:
    from ccnet_zoo.models.factory import build_autoencoder, build_mean, build_text_encoder

    cfg = load_config("tiny", typed=True)  # residual: the objective takes the mean network
    text, rt = build_text_encoder(cfg, [""]), Runtime(torch.device("cpu"))
    return DiffusionObjective(cfg, build_autoencoder(cfg), text, rt, None, weight, build_mean(cfg))


def test_enhancement_weights_follow_the_change() -> None:
    assert _objective(None).weights(torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8), 4) is None  # off: plain MSE
    obj = _objective(10.0)
    pre = -torch.ones(1, 1, 8, 8)
    post = pre.clone()
    post[..., :2, :2] = 1.0  # a "lesion" enhancing from -1 to 1 (change 1) in one latent pixel's 2x2 block
    w = obj.weights(pre, post, 4)
    assert w.shape == (1, 1, 4, 4)
    assert w[0, 0, 0, 0] == pytest.approx(11.0) and torch.all(w.flatten()[1:] == 1.0)
    # the same error costs more in the enhancing pixel than in the background
    target = torch.zeros(1, 8, 4, 4)
    err_lesion, err_background = target.clone(), target.clone()
    err_lesion[..., 0, 0], err_background[..., 3, 3] = 1.0, 1.0
    assert obj.loss(err_lesion, target, w) > obj.loss(err_background, target, w)
    expected = (11.0 * 8) / (w.sum() * 8)  # weighted mean over channels and pixels
    assert float(obj.loss(err_lesion, target, w)) == pytest.approx(float(expected))
    assert torch.equal(obj.loss(err_lesion, target, None), F.mse_loss(err_lesion, target))
    with pytest.raises(ModelError, match="enhancement_weight"):
        _objective(-1.0)


def test_ema_docstring_example_runs() -> None:
    import doctest

    import ccnet_zoo.train.ema as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_best_checkpoint_holds_the_moving_average(trained_runs: dict) -> None:
    """``tiny`` trains the LDM and the ControlNet with ``ema_decay``: sampling (``best``) gets the average, and
    ``last`` keeps the raw weights and the average for a resume."""
    from ccnet_zoo.models.checkpoint import load_checkpoint

    assert load_config("tiny", typed=True).train["controlnet"].ema_decay
    for stage, name in (("ldm", "unet"), ("controlnet", "controlnet")):
        best, meta = load_checkpoint(trained_runs[stage] / "checkpoints" / "best.json")
        last, last_meta = load_checkpoint(trained_runs[stage] / "checkpoints" / "last.json")
        assert meta["epoch"] == last_meta["epoch"] == 0 and last_meta["ema_updates"][name] > 0
        keys = [k for k in best if k.startswith(f"{name}.") and best[k].is_floating_point()]
        assert keys and all(torch.equal(best[k], last[f"ema.{k}"]) for k in keys)
        assert any(not torch.equal(best[k], last[f"model.{k}"]) for k in keys)
