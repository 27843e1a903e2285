"""The three models: what each encoder outputs, sampling, gradients, configs."""

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from vae import objectives
from vae.config import ModelConfig
from vae.errors import ConfigError
from vae.models import (
    VAE,
    Autoencoder,
    NoisyAutoencoder,
    build_model,
    reparameterize,
)


def small(kind, **kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, hidden_sizes=(32,), latent_dim=3, **kw))


def codes(n, seed):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def x():
    return torch.rand(6, 28, 28, generator=torch.Generator().manual_seed(0))


def test_build_model_picks_the_class():
    assert type(small("ae")) is Autoencoder
    assert type(small("noisy-ae")) is NoisyAutoencoder
    assert type(small("vae")) is VAE


def test_autoencoder_is_deterministic_with_zero_kl(x):
    model = small("ae")
    a, b = model.terms(x), model.terms(x)
    torch.testing.assert_close(a.log_px_given_z, b.log_px_given_z)
    assert (a.kl == 0).all()
    with pytest.raises(ValueError, match="no IWAE bound"):
        model.log_weights(x, 3)


def test_noisy_autoencoder_has_fixed_sigma(x):
    model = small("noisy-ae", noise_sigma=0.5)
    posterior = model.encode(x)
    torch.testing.assert_close(posterior.logvar, torch.full_like(posterior.mu, 2 * math.log(0.5)))
    # Its KL is that of N(mu, 0.5^2 I) from N(0, I), by torch.distributions.
    q = Independent(Normal(posterior.mu, 0.5), 1)
    prior = Independent(Normal(torch.zeros_like(posterior.mu), 1.0), 1)
    torch.testing.assert_close(model.kl(posterior), kl_divergence(q, prior))
    # No parameter controls sigma.
    assert all("logvar" not in name for name, _ in model.named_parameters())


def test_vae_kl_matches_torch_distributions(x):
    model = small("vae")
    with torch.no_grad():
        posterior = model.encode(x)
    q = Independent(Normal(posterior.mu, torch.exp(0.5 * posterior.logvar)), 1)
    prior = Independent(Normal(torch.zeros_like(posterior.mu), 1.0), 1)
    torch.testing.assert_close(model.kl(posterior), kl_divergence(q, prior))


def test_vae_learns_its_variance(x):
    model = small("vae")
    assert any(name.startswith("encoder.logvar") for name, _ in model.named_parameters())
    gen = torch.Generator().manual_seed(1)
    terms = model.terms(x, gen)
    loss = -objectives.elbo(terms.log_px_given_z, terms.kl).mean()
    loss.backward()
    assert model.encoder.logvar.weight.grad.abs().sum() > 0
    assert model.encoder.mean.weight.grad.abs().sum() > 0


def test_reparameterize_has_the_right_moments_and_gradients():
    mu = torch.tensor([1.5, -2.0], requires_grad=True)
    logvar = torch.tensor([0.0, math.log(4.0)], requires_grad=True)
    z = reparameterize(
        mu.expand(100_000, 2), logvar.expand(100_000, 2), torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(z.mean(0), mu.detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 2.0]), atol=0.02, rtol=0)
    z.mean().backward()
    torch.testing.assert_close(mu.grad, torch.tensor([0.5, 0.5]))  # dz/dmu = 1


def test_log_weights_average_to_the_elbo(x):
    """E_q[log w] = E_q[log p(x|z)] - KL: the mean of 4000 log-weights against 2000
    one-sample reconstruction terms and the analytic KL, within four standard
    errors of their difference."""
    model = small("vae")
    with torch.no_grad():
        log_w = model.log_weights(x, 4000, torch.Generator().manual_seed(0))
        posterior = model.encode(x)
        rec = torch.stack(
            [
                model.log_likelihood(
                    x,
                    model.likelihood_params(
                        model.sample_posterior(posterior, torch.Generator().manual_seed(s))
                    ),
                )
                for s in range(2000)
            ]
        )
        elbo = rec.mean(0) - model.kl(posterior)
    assert log_w.shape == (4000, 6)
    standard_error = (log_w.var(0) / 4000 + rec.var(0) / 2000).sqrt()
    assert ((log_w.mean(0) - elbo).abs() < 4 * standard_error).all()


def test_reconstruction_term_is_the_mean_log_likelihood_of_the_draws(x):
    """The same draws, made here from the noise and scored with torch.distributions."""
    model = small("vae")
    with torch.no_grad():
        actual = model.reconstruction_term(x, 5, torch.Generator().manual_seed(4))
        mu, logvar = model.encode(x)
        generator = torch.Generator().manual_seed(4)
        expected = torch.zeros(x.shape[0])
        for _ in range(5):
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
            bernoulli = torch.distributions.Bernoulli(
                logits=model.likelihood_params(z), validate_args=False
            )
            expected += bernoulli.log_prob(x).sum((1, 2)) / 5
    torch.testing.assert_close(actual, expected)


def test_log_weights_in_chunks_are_the_same_samples(x):
    model = small("vae")
    with torch.no_grad():
        whole = model.log_weights(x, 10, torch.Generator().manual_seed(3))
        generator = torch.Generator().manual_seed(3)
        posterior = model.encode(x)
        parts = [model.log_weights(x, k, generator, posterior) for k in (4, 1, 5)]
    torch.testing.assert_close(torch.cat(parts), whole)


def test_log_weights_are_log_p_x_z_minus_log_q_for_the_reparameterized_codes(x):
    """The codes come from `reparameterize`: with the same noise, the log-weights
    equal log p(x, z) - log q(z|x) computed with torch.distributions."""
    model = small("vae")
    with torch.no_grad():
        log_w = model.log_weights(x, 3, torch.Generator().manual_seed(5))
        mu, logvar = model.encode(x)
        generator = torch.Generator().manual_seed(5)
        expected = []
        for _ in range(3):
            z = reparameterize(mu, logvar, generator)
            logits = model.likelihood_params(z)
            bernoulli = torch.distributions.Bernoulli(logits=logits, validate_args=False)
            log_p = bernoulli.log_prob(x).sum((1, 2))
            log_p += torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
            log_q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
            expected.append(log_p - log_q)
    torch.testing.assert_close(log_w, torch.stack(expected))


def test_networks_return_float32_under_bfloat16_autocast(x):
    model = small("vae")
    seen = []
    model.decoder.output.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mu, logvar = model.encoder(x)
        terms = model.terms(x, torch.Generator().manual_seed(0))
    assert seen == [torch.bfloat16]  # the matrix products ran in bfloat16
    assert mu.dtype == logvar.dtype == torch.float32
    assert terms.log_px_given_z.dtype == terms.kl.dtype == torch.float32


def test_gaussian_likelihood_decodes_means_in_unit_interval(x):
    model = small("vae", likelihood="gaussian", observation_sigma=0.2)
    z = torch.randn(5, 3) * 10
    mean = model.decode_mean(z)
    assert mean.shape == (5, 28, 28)
    assert (mean >= 0).all() and (mean <= 1).all()
    expected = Normal(mean, 0.2).log_prob(x[:5]).sum((1, 2))
    torch.testing.assert_close(model.log_likelihood(x[:5], model.likelihood_params(z)), expected)


def test_a_learned_sigma_is_one_parameter_scored_by_torch_distributions(x):
    """The sigma-VAE's likelihood: one log sigma for every pixel, starting at the
    config's sigma; log p(x|z) is Normal(mean, sigma).log_prob summed."""
    model = small("vae", likelihood="gaussian-learned", observation_sigma=0.3)
    assert model.log_sigma.shape == () and model.log_sigma.item() == pytest.approx(math.log(0.3))
    with torch.no_grad():
        model.log_sigma.fill_(math.log(0.17))
        z = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
        mean = model.decode_mean(z)
        expected = Normal(mean, 0.17).log_prob(x[:5]).sum((1, 2))
        torch.testing.assert_close(
            model.log_likelihood(x[:5], model.likelihood_params(z)), expected
        )
    assert (mean >= 0).all() and (mean <= 1).all()


def test_the_learned_sigma_has_no_gradient_at_the_rmse(x):
    """At sigma = RMSE (`objectives.optimal_sigma`) the log-likelihood's derivative
    in log sigma is zero; below it, raising sigma helps, and above it, lowering."""
    model = small("vae", likelihood="gaussian-learned")
    with torch.no_grad():
        mean = model.likelihood_params(
            torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
        )
    rmse = objectives.optimal_sigma(x, mean)
    for factor, sign in ((1.0, 0), (0.5, 1), (2.0, -1)):
        model.log_sigma.data.fill_(math.log(factor * rmse.item()))
        model.log_sigma.grad = None
        model.log_likelihood(x, mean).sum().backward()
        grad = model.log_sigma.grad.item()
        if sign == 0:
            assert abs(grad) < 1e-2  # against about 4,700 nats per unit of log sigma off it
        else:
            assert grad * sign > 100


def test_a_learned_sigma_fitted_alone_converges_to_the_rmse(x):
    """A small fit: Adam on log sigma alone, the decoder's means fixed, ends at
    the analytic optimum."""
    model = small("vae", likelihood="gaussian-learned", observation_sigma=1.0)
    with torch.no_grad():
        mean = model.likelihood_params(
            torch.randn(6, 3, generator=torch.Generator().manual_seed(3))
        )
    optimizer = torch.optim.Adam([model.log_sigma], lr=0.05)
    for _ in range(400):
        optimizer.zero_grad()
        (-model.log_likelihood(x, mean).mean()).backward()
        optimizer.step()
    rmse = objectives.optimal_sigma(x, mean).item()
    assert model.log_sigma.exp().item() == pytest.approx(rmse, rel=0.01)


def test_sampling_and_reconstruction_shapes(x):
    model = small("vae")
    assert model.sample_prior(7, torch.Generator().manual_seed(0)).shape == (7, 28, 28)
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and (recon >= 0).all() and (recon <= 1).all()


def test_extreme_inputs_give_finite_terms():
    model = small("vae")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e3)
    x = torch.ones(2, 28, 28) * 1e3
    terms = model.terms(x, torch.Generator().manual_seed(0))
    assert torch.isfinite(terms.log_px_given_z).all()
    assert torch.isfinite(terms.kl).all()


def test_config_round_trip_and_validation():
    config = ModelConfig(kind="noisy-ae", hidden_sizes=(64, 32), latent_dim=5, noise_sigma=0.3)
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert config.data_dim == 784
    with pytest.raises(ConfigError, match="model kind"):
        ModelConfig(kind="gan")
    with pytest.raises(ConfigError, match="latent_dim"):
        ModelConfig(latent_dim=0)
    with pytest.raises(ConfigError, match="unknown model config keys: colour"):
        ModelConfig.from_dict({**config.to_dict(), "colour": "red"})


def test_decoder_mirrors_the_encoder():
    model = build_model(ModelConfig(kind="vae", hidden_sizes=(64, 32), latent_dim=4))
    enc = [m.out_features for m in model.encoder.body if isinstance(m, torch.nn.Linear)]
    dec = [m.out_features for m in model.decoder.body if isinstance(m, torch.nn.Linear)]
    assert enc == [64, 32] and dec == [32, 64]
