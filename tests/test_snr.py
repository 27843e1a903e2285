"""The gradient signal-to-noise ratio (`vae.snr`): the ratio itself against
numpy, the sampled gradients against one backward pass of the averaged loss, and
the finding of Rainforth et al. (2018) on a small model: more importance samples
raise the decoder's SNR and lower the encoder's."""

import numpy as np
import pytest
import torch

from vae.config import ModelConfig
from vae.losses import iwae_loss
from vae.models import build_model
from vae.snr import gradient_samples, gradient_snr, snr


def small():
    torch.manual_seed(0)
    return build_model(ModelConfig(image_shape=(6, 6), hidden_sizes=(16,), latent_dim=2))


@pytest.fixture
def x():
    return torch.bernoulli(torch.full((8, 6, 6), 0.4), generator=torch.Generator().manual_seed(3))


def test_snr_is_the_absolute_mean_over_the_standard_deviation_of_each_varying_column():
    rng = np.random.default_rng(0)
    samples = rng.normal(0.3, 2.0, size=(400, 7))
    samples[:, 2] = 5.0  # a parameter no draw moves: left out
    varying = np.delete(samples, 2, axis=1)
    mean, var = varying.mean(0), varying.var(0, ddof=1)
    expected = np.sqrt(np.maximum(mean**2 - var / len(samples), 0)) / np.sqrt(var)
    np.testing.assert_allclose(snr(torch.from_numpy(samples)).numpy(), expected)
    # The true SNR is 0.15 in every column: the estimate is near it on average.
    assert np.mean(expected) == pytest.approx(0.15, abs=0.05)
    with pytest.raises(ValueError, match="two"):
        snr(torch.from_numpy(samples[:1]))


def test_a_gradient_with_no_signal_has_an_snr_near_zero_not_at_the_floor():
    samples = torch.from_numpy(np.random.default_rng(1).normal(0.0, 1.0, size=(30, 2000)))
    naive = samples.mean(0).abs() / samples.std(0)
    assert naive.median() > 0.1  # about 0.67 / sqrt(30)
    assert snr(samples).median() < 0.02


def test_the_mean_sampled_gradient_is_the_gradient_of_the_mean_bound(x):
    model = small()
    repeats, k = 4, 3
    samples = gradient_samples(model, x, k, repeats, torch.Generator().manual_seed(5))
    # The same draws again, as one loss: the mean of the bounds, one backward pass.
    generator = torch.Generator().manual_seed(5)
    loss = sum(iwae_loss(model, x, k, generator).loss for _ in range(repeats)) / repeats
    loss.backward()
    encoder = torch.cat([-p.grad.reshape(-1) for p in model.encoder.parameters()])
    decoder = torch.cat([-p.grad.reshape(-1) for p in model.decoder.parameters()])
    torch.testing.assert_close(samples["encoder"].mean(0), encoder.double(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(samples["decoder"].mean(0), decoder.double(), rtol=1e-5, atol=1e-7)


def test_more_samples_raise_the_decoders_snr_and_lower_the_encoders(x):
    model = small()
    few, many = (gradient_snr(model, x, k, repeats=200, seed=1) for k in (1, 256))
    assert many["decoder"] > 2 * few["decoder"]
    assert many["encoder"] < few["encoder"] / 2
