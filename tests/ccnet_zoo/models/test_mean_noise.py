"""The mean network's noise-level head (``mean.noise``): the robust noise estimator, the top-up and the head."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.mean import MeanNet, noise_level, top_up_noise

SMALL = {"features": [4, 4, 4, 4, 4, 4]}


def _white(shape: tuple[int, ...], sd: float, seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * sd


@settings(max_examples=25, deadline=None)
@given(sd=st.floats(0.01, 0.5), seed=st.integers(0, 2**31 - 1), size=st.sampled_from([64, 65, 96, 127]))
def test_noise_level_of_white_noise_is_its_sd(sd: float, seed: int, size: int) -> None:
    """Any size (an odd last row/column is left out) and level: within 10 % (2,000+ HH coefficients)."""
    got = noise_level(_white((2, 1, size, size), sd, seed) + 0.3)  # an offset is not noise
    assert got.shape == (2,)
    assert torch.allclose(got, torch.full((2,), sd), rtol=0.1)


def test_noise_level_ignores_edges_and_has_a_floor() -> None:
    noisy = _white((1, 1, 64, 64), 0.05, 0)
    edges = noisy.clone()
    edges[..., 20:41, 20:41] += 1.0  # a bright square with odd corners: its edges fill a few HH coefficients
    assert noise_level(edges).item() == pytest.approx(noise_level(noisy).item(), rel=0.05)
    blocks = noisy.clone()
    blocks[..., ::2, ::2] += 0.5  # a checkerboard-like pattern fills every HH coefficient: that is "noise" too
    assert noise_level(blocks).item() > 0.1
    assert noise_level(torch.zeros(3, 1, 8, 8)).tolist() == pytest.approx([1 / (8 * 255)] * 3)


def test_top_up_reaches_the_level_and_never_removes_noise() -> None:
    quiet = _white((2, 1, 128, 128), 0.02, 1)
    fresh = _white((2, 1, 128, 128), 1.0, 2)
    target = torch.tensor([0.05, 0.01]).reshape(2, 1, 1, 1)  # above the image's level, then below it
    out = top_up_noise(quiet, target, fresh)
    level = noise_level(out)
    assert level[0].item() == pytest.approx(0.05, rel=0.1)
    assert torch.equal(out[1], quiet[1])  # already noisier than asked: nothing added, nothing removed
    # the added noise is the fresh draw scaled: sqrt(0.05^2 - own^2)
    own = noise_level(quiet[:1])
    assert torch.allclose(out[0] - quiet[0], fresh[0] * (0.05**2 - own**2).sqrt(), atol=1e-6)


def test_the_head_is_optional_and_does_not_change_the_mean_network() -> None:
    pre, t = _white((2, 1, 32, 32), 0.3, 3), torch.tensor([[60.0], [400.0]])
    torch.manual_seed(0)
    plain = MeanNet(SMALL)
    torch.manual_seed(0)
    headed = MeanNet(SMALL, noise=SMALL)
    assert not plain.has_noise and headed.has_noise
    # built after the mean network: the same seed gives the same mean network with or without the head
    pairs = zip(plain.net.state_dict().values(), headed.net.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    with torch.no_grad():
        assert torch.equal(plain(pre, t), headed(pre, t))
        base, log_sd = headed(pre, t, with_noise=True)
        assert torch.equal(base, headed(pre, t))
        assert log_sd.shape == (2, 1, 1, 1)
        assert torch.equal(log_sd.exp(), headed.noise_sd(pre, t))
    with pytest.raises(ConfigError, match=r"no noise head \(config section mean\.noise\)"):
        plain.noise_sd(pre, t)
    with pytest.raises(ConfigError, match=r"mean\.noise rejected by BasicUNet"):
        MeanNet(SMALL, noise={"features": [4, 4]})
