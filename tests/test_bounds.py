"""The shortfall of L_k (`vae.bounds`) against closed forms: weights w = e^(c + s eps - s^2/2)
with eps ~ N(0, 1) have E[w] = e^c, so "log p(x)" is c, E[L_1] = c - s^2 / 2, and
for large k the delta method gives E[L_k] = c - (e^(s^2) - 1) / (2k) + O(1/k^2)."""

import math

import pytest
import torch

from vae import bounds
from vae.bounds import sample_log_weights, shortfall
from vae.config import ModelConfig
from vae.models import build_model

C, S = -80.0, 0.5


def lognormal_log_weights(count, columns, seed):
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn((count, columns), generator=generator, dtype=torch.float64)
    return C + S * eps - S**2 / 2


def test_shortfall_of_one_sample_is_half_the_variance_of_log_w():
    log_w = lognormal_log_weights(1000, 400, seed=0)
    measured = shortfall(C, log_w, (1,))
    assert measured.bounds.shape == (1, 400)
    # Each column's L_1 is the mean of its 1000 log-weights: spread S / sqrt(1000).
    expected_se = S / math.sqrt(1000) / math.sqrt(400)
    assert measured.se[0].item() == pytest.approx(expected_se, rel=0.1)
    assert measured.gap[0].item() == pytest.approx(S**2 / 2, abs=4 * expected_se)


@pytest.mark.parametrize("k", [50, 200])
def test_shortfall_of_many_samples_follows_the_delta_method(k):
    log_w = lognormal_log_weights(4000, 200, seed=k)
    measured = shortfall(C, log_w, (k,))
    expected = (math.exp(S**2) - 1) / (2 * k)
    # The O(1/k^2) term is below a tenth of the leading one at these k.
    assert measured.gap[0].item() == pytest.approx(
        expected, abs=4 * measured.se[0].item() + 0.1 * expected
    )


def test_shortfall_takes_one_log_px_per_column():
    log_w = lognormal_log_weights(100, 3, seed=1)
    offsets = torch.tensor([0.0, 5.0, -7.0], dtype=torch.float64)
    shifted = shortfall(C + offsets, log_w + offsets, (1, 10))
    plain = shortfall(C, log_w, (1, 10))
    torch.testing.assert_close(shifted.gap, plain.gap)
    torch.testing.assert_close(shifted.se, plain.se)


def test_log_weights_are_drawn_in_groups_of_examples():
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", hidden_sizes=(16,), latent_dim=2))
    x = torch.rand(5, 28, 28, generator=torch.Generator().manual_seed(1)).round()
    k = 4
    log_w = sample_log_weights(model, x, k, seed=3, codes=2 * k)  # groups of two examples
    assert log_w.shape == (k, 5) and log_w.dtype == torch.float64
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        groups = [model.log_weights(x[i : i + 2], k, generator) for i in (0, 2, 4)]
    torch.testing.assert_close(log_w, torch.cat(groups, dim=1).double())


def test_a_bound_above_log_px_beyond_its_noise_is_an_error():
    fine = bounds.Shortfall(torch.zeros(2, 3), torch.tensor([0.5, -0.01]), torch.tensor([0.1, 0.1]))
    bounds.check_bounds(fine)  # 0.1 below zero is within three standard errors
    above = fine._replace(gap=torch.tensor([0.5, -0.4]))
    with pytest.raises(ValueError, match="L_k above log p"):
        bounds.check_bounds(above)


def test_a_negative_part_of_the_gap_is_an_error():
    bounds.check_gap_split(torch.tensor([0.0, 0.2]), torch.tensor([1.0, -0.0005]))
    with pytest.raises(ValueError, match="amortization gap of example 1"):
        bounds.check_gap_split(torch.tensor([0.0, 0.2]), torch.tensor([1.0, -0.01]))
