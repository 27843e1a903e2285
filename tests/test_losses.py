"""The training losses (`vae.losses`) against the bound functions and
torch.distributions, on the same noise: the IWAE loss is minus the mean bound,
its gradient reaches both networks, and with k = 1 it is the ELBO."""

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae import objectives
from vae.config import ModelConfig, TrainConfig
from vae.losses import batch_loss, elbo_loss, iwae_loss
from vae.models import build_model, reparameterize


def small(**kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(hidden_sizes=(32,), latent_dim=3, **kw))


@pytest.fixture
def x():
    return torch.bernoulli(torch.full((6, 28, 28), 0.3), generator=torch.Generator().manual_seed(0))


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def test_the_iwae_loss_is_minus_the_mean_bound_of_the_log_weights(x):
    model = small()
    loss = iwae_loss(model, x, 5, seeded(1)).loss
    with torch.no_grad():
        expected = -objectives.iwae_bound(model.log_weights(x, 5, seeded(1))).mean()
    torch.testing.assert_close(loss.detach(), expected)
    assert batch_loss(model, x, TrainConfig(objective="iwae", k=5), 1.0, seeded(1)).loss == loss


def test_the_iwae_gradient_reaches_the_encoder_and_the_decoder(x):
    model = small()
    iwae_loss(model, x, 4, seeded(2)).loss.backward()
    for name in ("mean", "logvar"):
        assert getattr(model.encoder, name).weight.grad.abs().sum() > 0, name
    assert model.decoder.output.weight.grad.abs().sum() > 0


def test_iwae_with_one_sample_is_the_elbo_on_the_same_noise(x):
    """The code is `reparameterize`'s from the same noise; the loss is minus
    log p(x|z) + log p(z) - log q(z|x), scored with torch.distributions."""
    model = small()
    actual = iwae_loss(model, x, 1, seeded(3))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = reparameterize(mu, logvar, seeded(3))
        log_px_given_z = Bernoulli(logits=model.likelihood_params(z)).log_prob(x).sum((1, 2))
        kl = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
        kl -= Normal(0.0, 1.0).log_prob(z).sum(-1)
    torch.testing.assert_close(actual.loss.detach(), -(log_px_given_z - kl).mean())
    torch.testing.assert_close(actual.terms.log_px_given_z.detach(), log_px_given_z)
    torch.testing.assert_close(actual.terms.kl.detach(), kl)
    # The ELBO loss on the same noise decodes the same code: the same
    # reconstruction term, with the KL in closed form.
    elbo = elbo_loss(model, x, 1.0, seeded(3))
    torch.testing.assert_close(elbo.terms.log_px_given_z, actual.terms.log_px_given_z)


def test_iwae_with_one_sample_is_the_elbo_in_expectation(x):
    """Its KL estimate averages to the closed form: within four standard errors over 4000 draws."""
    model = small()
    with torch.no_grad():
        draws = torch.stack([iwae_loss(model, x, 1, seeded(s)).terms.kl for s in range(4000)])
        analytic = elbo_loss(model, x, 1.0, seeded(0)).terms.kl
    standard_error = draws.std(0) / 4000**0.5
    assert ((draws.mean(0) - analytic).abs() < 4 * standard_error).all()


def test_more_samples_give_a_lower_loss_on_average(x):
    """E[L_k] rises with k (Burda et al., theorem 1), so the mean loss falls."""
    model = small()
    with torch.no_grad():
        losses = {
            k: torch.stack([iwae_loss(model, x, k, seeded(s)).loss for s in range(200)]).mean()
            for k in (1, 10)
        }
    assert losses[10] < losses[1]


def test_the_elbo_loss_weights_the_kl_by_beta(x):
    model = small()
    one, two = elbo_loss(model, x, 1.0, seeded(4)), elbo_loss(model, x, 2.0, seeded(4))
    torch.testing.assert_close(two.loss - one.loss, one.terms.kl.mean())


def test_the_loss_with_free_bits_is_the_hand_computation(x):
    """-(mean log p(x|z) - beta * sum_j max(lambda, mean_b KL_bj)), each KL_bj by
    torch.distributions, on the same noise as the loss."""
    model = small()
    actual = elbo_loss(model, x, 2.0, seeded(5), free_bits=0.4)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = reparameterize(mu, logvar, seeded(5))
        log_px_given_z = Bernoulli(logits=model.likelihood_params(z)).log_prob(x).sum((1, 2))
        kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))  # (B, D)
        floored = torch.maximum(kl.mean(0), torch.tensor(0.4)).sum()
    torch.testing.assert_close(actual.loss.detach(), -(log_px_given_z.mean() - 2.0 * floored))
    torch.testing.assert_close(actual.terms.kl.detach(), kl.sum(1))  # the history's KL: unfloored
    plain = elbo_loss(model, x, 2.0, seeded(5), free_bits=0.0)
    assert plain.loss <= actual.loss
    settings = TrainConfig(free_bits=0.4)
    assert batch_loss(model, x, settings, 2.0, seeded(5)).loss == actual.loss


def test_free_bits_need_a_kl_per_dimension(x):
    torch.manual_seed(0)
    flow = build_model(ModelConfig(hidden_sizes=(32,), posterior="flow"))
    with pytest.raises(ValueError, match="KL of each latent dimension"):
        elbo_loss(flow, x, 1.0, seeded(0), free_bits=0.5)
