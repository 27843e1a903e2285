"""The families of q(z|x) (`vae.families`) against torch.distributions and
quadrature: the full-covariance Gaussian's density, draws and KL against
MultivariateNormal; the flow's density at its own draws, and its integral over
a 2-D grid; the Monte Carlo KL of a flow against the closed form."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from vae import objectives
from vae.config import ModelConfig
from vae.families import FlowPosterior, FullCovariance, Posterior, lower_triangle
from vae.models import build_model


def model_with(posterior, latent_dim=2, seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(hidden_sizes=(16,), latent_dim=latent_dim, posterior=posterior))


def scramble(module, seed=0, std=0.5):
    """Random weights for the parts that start at zero (the flow's last layers,
    the Cholesky head), so that q is not the diagonal Gaussian it starts as."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("encoder.lower") or (name.startswith("flow.") and ".out." in name):
                p.normal_(0, std)


def images(n=3, seed=0):
    return torch.rand(n, 28, 28, generator=torch.Generator().manual_seed(seed))


def random_full(batch=4, dim=3, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, dim, generator=gen, dtype=dtype)
    logvar = torch.randn(batch, dim, generator=gen, dtype=dtype) * 0.5
    values = torch.randn(batch, dim * (dim - 1) // 2, generator=gen, dtype=dtype)
    return FullCovariance(Posterior(mu, logvar), lower_triangle(values, dim))


def mvn(q):
    return MultivariateNormal(q.mu, scale_tril=q.scale_tril)


def test_the_full_covariance_density_is_multivariate_normals():
    q = random_full()
    z = torch.randn(6, 4, 3, generator=torch.Generator().manual_seed(1)) * 2  # 6 per example
    torch.testing.assert_close(q.log_prob(z), mvn(q).log_prob(z))
    one = q.select(slice(1, 2))
    torch.testing.assert_close(one.log_prob(z[:, 1:2]), mvn(q).log_prob(z)[:, 1:2])


def test_the_cholesky_factor_is_lower_triangular_with_sigma_on_its_diagonal():
    q = random_full()
    L = q.scale_tril
    assert torch.equal(L, L.tril())
    torch.testing.assert_close(torch.diagonal(L, dim1=-2, dim2=-1), torch.exp(0.5 * q.base.logvar))
    covariance = mvn(q).covariance_matrix
    torch.testing.assert_close(q.marginal_logvar, torch.diagonal(covariance, 0, -2, -1).log())


def test_full_covariance_draws_are_mu_plus_l_eps_with_their_density():
    """The model's sampler draws eps as the reparameterization does, (B, D) at a time."""
    q = random_full(dtype=torch.float64)
    model = model_with("full", latent_dim=3)
    z, log_qz = model.sample_codes(q, torch.Generator().manual_seed(2), k=5)
    gen = torch.Generator().manual_seed(2)
    eps = torch.stack([torch.randn(4, 3, generator=gen, dtype=torch.float64) for _ in range(5)])
    expected = q.mu + torch.einsum("bij,kbj->kbi", q.scale_tril, eps)
    torch.testing.assert_close(z, expected)
    torch.testing.assert_close(log_qz, mvn(q).log_prob(z))


def test_full_covariance_kl_is_torch_distributions():
    q = random_full()
    prior = MultivariateNormal(torch.zeros(3), torch.eye(3))
    torch.testing.assert_close(q.standard_normal_kl(), kl_divergence(mvn(q), prior))
    model = model_with("full", latent_dim=3)
    torch.testing.assert_close(model.kl(q), kl_divergence(mvn(q), prior))


def test_the_encoder_gives_a_full_covariance():
    model = model_with("full", latent_dim=3)
    scramble(model)
    q = model.encode(images())
    assert isinstance(q, FullCovariance)
    assert q.lower.abs().sum() > 0 and torch.equal(q.lower, q.lower.tril(-1))
    mu, logvar = model.encoder(images())
    torch.testing.assert_close(q.mu, mu)
    torch.testing.assert_close(q.base.logvar, logvar)


def test_a_flow_scores_its_own_draws():
    """log q from the forward pass (base density minus log-det) equals log q
    through the inverse at the same codes."""
    model = model_with("flow", latent_dim=3)
    scramble(model)
    q = model.encode(images())
    assert isinstance(q, FlowPosterior)
    with torch.no_grad():
        z, log_qz = model.sample_codes(q, torch.Generator().manual_seed(0), k=8)
        torch.testing.assert_close(q.log_prob(z), log_qz, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(q.mu, q.push(q.base.mu)[0])
        base_z, _ = model.sample_codes(q.base, torch.Generator().manual_seed(0), k=8)
        assert not torch.allclose(z, base_z)  # the same noise, moved by the flow


def test_a_flows_density_integrates_to_one_on_a_grid():
    """The midpoint rule over a box holding eight standard deviations of q's
    draws, with cells of a 25th of the narrowest: 1 to within 1e-3."""
    model = model_with("flow", seed=1)
    scramble(model, seed=1, std=0.3)
    with torch.no_grad():
        q = model.encode(images(2))
        z, _ = model.sample_codes(q, torch.Generator().manual_seed(0), k=4000)
        for b in range(2):
            one = q.select(slice(b, b + 1))
            centre, spread = z[:, b].mean(0), z[:, b].std(0)
            h = float(spread.min()) / 25
            box = zip(centre - 8 * spread, centre + 8 * spread, strict=True)
            axes = [torch.arange(low, high, h) for low, high in box]
            grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 1, 2)
            log_q = torch.cat([one.log_prob(part) for part in grid.split(50_000)])
            mass = torch.exp(torch.logsumexp(log_q.double(), dim=0) + 2 * math.log(h))
            assert abs(mass.item() - 1) < 1e-3


def test_the_kl_of_an_untrained_flow_averages_to_its_base_gaussians():
    """An untrained flow is the identity, so q is its base Gaussian: the one-sample
    KL estimates average to the closed form, within four standard errors."""
    model = model_with("flow", latent_dim=3)
    x = images(4)
    with torch.no_grad():
        q = model.encode(x)
        kls = torch.stack(
            [model.terms(x, torch.Generator().manual_seed(s)).kl for s in range(3000)]
        )
    closed = objectives.gaussian_kl(q.base.mu, q.base.logvar)
    assert ((kls.mean(0) - closed).abs() < 4 * kls.std(0) / math.sqrt(3000)).all()
    with pytest.raises(ValueError, match="no closed form"):
        model.kl(q)


@pytest.mark.parametrize("posterior", ["full", "flow"])
def test_gradients_reach_the_richer_parts(posterior):
    model = model_with(posterior)
    scramble(model)
    x = torch.bernoulli(images())
    terms = model.terms(x, torch.Generator().manual_seed(0))
    (-(terms.log_px_given_z - terms.kl).mean()).backward()
    richer = [
        p.grad
        for name, p in model.named_parameters()
        if name.startswith(("flow.", "encoder.lower"))
    ]
    assert richer and all(g is not None and g.abs().sum() > 0 for g in richer)
