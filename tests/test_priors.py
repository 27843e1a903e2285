"""Learned priors (`vae.priors`) against torch.distributions and importance
sampling: the mixture's and the VampPrior's log-density against
MixtureSameFamily, their samples, the Monte Carlo KL against the closed form
when the mixture is N(0, I), the hierarchy's grid density against its own
closed form when its top code is ignored, against importance sampling with
q(u|z) and against quadrature over z, and exact log p(x) under each learned
prior against an importance-sampling estimate."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Categorical, Independent, MixtureSameFamily, Normal

from vae import data as vae_data
from vae import exact, objectives, priors
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.gaps import top_layer_gap
from vae.models import build_model
from vae.train import train


def model_with(prior, components=4, latent_dim=2, seed=0, **kw):
    torch.manual_seed(seed)
    if prior in ("mixture", "vamp"):
        kw["prior_components"] = components
    config = ModelConfig(hidden_sizes=(16,), latent_dim=latent_dim, prior=prior, **kw)
    return build_model(config)


def reference(means, logvars, log_weights):
    """The mixture as torch.distributions builds it."""
    normal = Independent(Normal(means, torch.exp(0.5 * logvars)), 1)
    return MixtureSameFamily(Categorical(logits=log_weights), normal)


def randomise(prior, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in prior.parameters():
            p.normal_(0, 1)


def test_the_mixture_prior_is_mixture_same_family():
    model = model_with("mixture", latent_dim=3)
    randomise(model.prior)
    z = 2 * torch.randn(5, 7, 3, generator=torch.Generator().manual_seed(1))
    p = model.prior
    expected = reference(p.means, p.logvars, p.logits).log_prob(z)
    torch.testing.assert_close(model.log_prior(z), expected)


def test_the_vampprior_is_the_mixture_of_the_encoders_q_at_its_pseudo_inputs():
    model = model_with("vamp", components=5)
    randomise(model.prior)
    u = model.prior.pseudo_inputs()
    assert u.shape == (5, 28, 28) and (u > 0).all() and (u < 1).all()
    z = 2 * torch.randn(9, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        mu, logvar = model.encoder(u)
        expected = reference(mu, logvar, torch.zeros(5)).log_prob(z)
        torch.testing.assert_close(model.log_prior(z), expected)


def test_a_vampprior_of_flows_scores_with_the_flows_density():
    model = model_with("vamp", components=3, posterior="flow")
    randomise(model.prior)
    z = torch.randn(6, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        q = model.encode(model.prior.pseudo_inputs())
        per_component = torch.stack(
            [q.select(slice(k, k + 1)).log_prob(z[:, None])[:, 0] for k in range(3)]
        )
        expected = torch.logsumexp(per_component, dim=0) - math.log(3)
        torch.testing.assert_close(model.log_prior(z), expected)


def test_samples_of_the_mixture_prior_come_from_its_components_in_proportion():
    """Two far-apart components weighted 0.2 and 0.8: the share of 20,000 draws
    near each, within four standard errors, and each group's moments."""
    model = model_with("mixture", components=2)
    with torch.no_grad():
        model.prior.means.copy_(torch.tensor([[-10.0, 0.0], [10.0, 5.0]]))
        model.prior.logvars.copy_(torch.tensor([[0.0, 0.0], [math.log(4.0), 0.0]]))
        model.prior.logits.copy_(torch.tensor([0.2, 0.8]).log())
        z = model.sample_codes_from_prior(20_000, torch.Generator().manual_seed(0))
    first = z[:, 0] < 0
    share = first.float().mean()
    assert abs(share - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 20_000)
    torch.testing.assert_close(z[first].mean(0), torch.tensor([-10.0, 0.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(z[~first].std(0), torch.tensor([2.0, 1.0]), atol=0.05, rtol=0)
    assert model.sample_prior(3, torch.Generator().manual_seed(0)).shape == (3, 28, 28)


def test_a_mixture_at_the_standard_normal_gives_the_closed_form_kl_on_average():
    """One component at N(0, I): the Monte Carlo KL averages to the analytic one."""
    model = model_with("mixture", components=1)
    with torch.no_grad():
        model.prior.means.zero_()
        x = torch.rand(4, 28, 28, generator=torch.Generator().manual_seed(0))
        mu, logvar = model.encode(x)
        kls = torch.stack(
            [model.terms(x, torch.Generator().manual_seed(s)).kl for s in range(4000)]
        )
    closed = objectives.gaussian_kl(mu, logvar)
    assert ((kls.mean(0) - closed).abs() < 4 * kls.std(0) / math.sqrt(4000)).all()


def test_only_the_standard_normal_prior_gives_a_closed_form_kl():
    model = model_with("mixture")
    x = torch.rand(2, 28, 28)
    with pytest.raises(ValueError, match="no closed form"):
        model.kl(model.encode(x))


@pytest.fixture(scope="module", params=["mixture", "vamp", "hierarchy"])
def learned(request):
    """A 2-D VAE with a learned prior, trained briefly on the embedded digits."""
    config = RunConfig(
        ModelConfig(hidden_sizes=(128,), prior=request.param),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=3),
    )
    dataset = vae_data.load_dataset("mnist5k")
    model, history = train(config, dataset, progress=False)
    return model, vae_data.test_inputs(dataset, "dynamic")[:6], history


def test_exact_log_px_under_a_learned_prior_agrees_with_importance_sampling(learned):
    """log p(x) on the grid, with the model's own prior, against the log of the
    mean of p(x|z) over 100,000 codes drawn from that prior, scored with
    torch.distributions: within four standard errors (the delta method's) and
    the grid's hundredth of a nat. (The prior, not q, is the proposal: it covers
    every code, where a briefly trained encoder's q can miss the posterior.)"""
    model, x, _ = learned
    log_px = exact.log_marginal(model, x)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        z = model.sample_codes_from_prior(100_000, generator)
        log_px_given_z = torch.cat(
            [
                Bernoulli(logits=model.likelihood_params(part)[:, None]).log_prob(x).sum((2, 3))
                for part in z.split(5000)
            ]
        ).double()  # (K, B)
    k = z.shape[0]
    estimate = torch.logsumexp(log_px_given_z, dim=0) - math.log(k)
    w = torch.exp(log_px_given_z - log_px_given_z.max(dim=0).values)
    standard_error = (w.std(0) / w.mean(0)) / math.sqrt(k)
    assert ((estimate - log_px).abs() < 4 * standard_error + 0.01).all()


def test_a_learned_prior_trains(learned):
    _, _, history = learned
    assert history[-1]["test_elbo"] > history[0]["test_elbo"]
    assert all(row["test_kl"] > 0 for row in history)


def test_the_pseudo_inputs_start_as_nearly_uniform_gray_images():
    u = model_with("vamp", components=5).prior.pseudo_inputs()
    assert u.shape == (5, 28, 28)
    assert (u - 0.5).abs().max() < 0.02
    assert u.std() > 0  # a little noise tells them apart


def test_a_hierarchy_that_ignores_its_top_code_has_a_gaussian_prior():
    """With p(z|u) not depending on u, p(z) = N(b, diag e^c): the grid over u
    must integrate the top code out exactly."""
    prior = model_with("hierarchy").prior
    with torch.no_grad():
        prior.down.head.weight.zero_()
        prior.down.head.bias.copy_(torch.tensor([0.5, -1.0, 0.3, -0.4]))  # means, log-variances
    z = torch.randn(50, 2, dtype=torch.float64) * 2
    expected = Independent(
        Normal(torch.tensor([0.5, -1.0]), torch.exp(0.5 * torch.tensor([0.3, -0.4]))), 1
    )
    assert torch.allclose(prior.log_density(z), expected.log_prob(z).double(), atol=1e-5)


@pytest.fixture
def hierarchy():
    """A hierarchy whose p(z|u) and q(u|z) depend on their inputs (random weights)."""
    prior = model_with("hierarchy", seed=3).prior
    torch.manual_seed(3)
    with torch.no_grad():
        for layer in (prior.down, prior.up):
            layer.head.weight.mul_(3.0)  # mean and variance vary across u (or z)
            layer.head.bias[2:].fill_(-1.0)  # variances below 1
    return prior


def test_the_hierarchys_grid_density_agrees_with_monte_carlo(hierarchy):
    """log p(z) on the grid against the log of the mean of p(z|u) over 200,000
    draws u ~ N(0, I), scored with torch.distributions: within four standard
    errors (the delta method's) and a thousandth of a nat. The bound's draws
    (u ~ q(u|z)) average below it."""
    z = torch.randn(8, 2) * 1.5
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        u = torch.randn(200_000, 2, generator=generator)
        down = hierarchy.down(u)
        given_u = Independent(Normal(down.mu[:, None], torch.exp(0.5 * down.logvar[:, None])), 1)
        log_p = given_u.log_prob(z).double()  # (K, B)
        grid = hierarchy.log_density(z.double())
        bound = torch.stack([hierarchy.log_density_sample(z, None, generator) for _ in range(2000)])
    k = log_p.shape[0]
    estimate = torch.logsumexp(log_p, dim=0) - math.log(k)
    w = torch.exp(log_p - log_p.max(dim=0).values)
    standard_error = (w.std(0) / w.mean(0)) / math.sqrt(k)
    assert ((estimate - grid).abs() < 4 * standard_error + 1e-3).all()
    assert (bound.double().mean(0) < grid).all()


def test_the_hierarchys_density_integrates_to_one_and_its_samples_follow_it(hierarchy):
    """Quadrature over z (cells of 0.05 on [-8, 8]^2): mass 1 and a mean that the
    mean of 20,000 ancestral samples matches within four standard errors."""
    axis = torch.arange(-8 + 0.025, 8, 0.05, dtype=torch.float64)
    z = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        mass = torch.exp(hierarchy.log_density(z)) * 0.05**2
        samples = hierarchy.sample(20_000, torch.Generator().manual_seed(0)).double()
    assert abs(float(mass.sum()) - 1) < 1e-3
    mean = (mass[:, None] * z).sum(0)
    standard_error = samples.std(0) / math.sqrt(len(samples))
    assert ((samples.mean(0) - mean).abs() < 4 * standard_error).all()


def test_the_hierarchys_top_rate_is_the_kl_of_q_u_given_z():
    prior = model_with("hierarchy").prior
    z = torch.randn(5, 2)
    q = prior.up(z)
    expected = torch.distributions.kl_divergence(
        Independent(Normal(q.mu, torch.exp(0.5 * q.logvar)), 1),
        Independent(Normal(0.0, torch.ones(2)), 1),
    )
    assert torch.allclose(prior.top_kl(z), expected, atol=1e-5)


def test_a_hierarchy_above_three_dimensions_has_no_grid_but_still_trains_its_bound():
    model = model_with("hierarchy", latent_dim=3)
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="3-D top layer has no grid"):
        model.log_prior(z)
    assert model.log_prior_sample(z).shape == (4,)
    x = torch.rand(4, 28, 28).bernoulli()
    assert torch.isfinite(model.terms(x).kl).all()


def test_the_top_layer_gap_is_the_kl_from_q_u_to_the_true_posterior_of_u(hierarchy):
    """`top_layer_gap` (Monte Carlo over u) against E_z KL(q(u|z) || p(u|z)) by
    quadrature on the grid over u, at the same codes z, with
    log p(u|z) = log p(z|u) + log p(u) - log p(z)."""
    model = model_with("hierarchy", seed=3)
    model.prior = hierarchy
    x = torch.rand(3, 28, 28).bernoulli()
    codes, draws = 8, 4000
    gap = top_layer_gap(model, x, torch.Generator().manual_seed(5), codes, draws)
    with torch.no_grad():
        z, _ = model.sample_codes(model.encode(x), torch.Generator().manual_seed(5), codes)
        z = z.double()  # (S, B, 2), the codes top_layer_gap drew
        u, log_cell = hierarchy.top_grid()
        down = hierarchy.down(u)
        log_joint = objectives.gaussian_log_density(
            z[..., None, :], down.mu.double(), down.logvar.double()
        ) + objectives.gaussian_log_density(u.double())  # (S, B, G)
        log_posterior = log_joint - hierarchy.log_density(z)[..., None]
        up = hierarchy.up(z.float())
        log_q = objectives.gaussian_log_density(
            u.double(), up.mu.double()[..., None, :], up.logvar.double()[..., None, :]
        )  # (S, B, G)
        weight = torch.exp(log_q + log_cell)
        kl = (weight * (log_q - log_posterior)).sum(-1).mean(0)
    assert (gap > 0).all()
    assert torch.allclose(gap, kl, atol=0.02, rtol=0.02)


def test_a_model_without_a_top_layer_has_no_top_layer_gap():
    model = model_with("normal")
    assert (top_layer_gap(model, torch.rand(2, 28, 28)) == 0).all()


def test_the_closest_gaussian_to_a_gaussian_is_itself():
    fit = priors.closest_gaussian(objectives.gaussian_log_density)
    assert fit.mass == pytest.approx(1, abs=1e-9) and fit.kl == pytest.approx(0, abs=1e-6)
    assert torch.allclose(fit.mean, torch.zeros(2, dtype=torch.float64), atol=1e-9)
    assert torch.allclose(fit.covariance, torch.eye(2, dtype=torch.float64), atol=1e-3)
    assert fit.outside == pytest.approx(0.01, abs=1e-3)


def test_the_closest_gaussian_to_a_mixture_matches_its_moments_and_monte_carlo():
    """A heavy-tailed mixture: one narrow and one wide component on the same centre,
    beside a third off centre. Its moments in closed form; the KL and the mass
    outside the fitted 99 % ellipse from 400,000 draws."""
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    means = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, -1.0]], dtype=torch.float64)
    scales = torch.tensor([[0.5, 0.7], [2.0, 1.5], [0.6, 0.6]], dtype=torch.float64)
    p = MixtureSameFamily(Categorical(weights), Independent(Normal(means, scales), 1))
    fit = priors.closest_gaussian(p.log_prob)
    mean = (weights[:, None] * means).sum(0)
    outer = means[:, :, None] * means[:, None, :]
    second = (weights[:, None, None] * (torch.diag_embed(scales**2) + outer)).sum(0)
    assert torch.allclose(fit.mean, mean, atol=1e-6)
    assert torch.allclose(fit.covariance, second - mean[:, None] * mean[None, :], atol=1e-5)
    torch.manual_seed(0)
    z = p.sample(torch.Size([400_000]))
    gaussian = torch.distributions.MultivariateNormal(fit.mean, fit.covariance)
    log_ratio = p.log_prob(z) - gaussian.log_prob(z)
    se = float(log_ratio.std() / len(z) ** 0.5)
    assert abs(fit.kl - float(log_ratio.mean())) < 4 * se and fit.kl > 0.1
    d = z - fit.mean
    beyond = ((d @ torch.linalg.inv(fit.covariance) * d).sum(1) > -2 * math.log(0.01)).double()
    assert abs(fit.outside - float(beyond.mean())) < 4 * float(beyond.std() / len(z) ** 0.5)
    assert fit.outside > 0.01  # heavier tails than the Gaussian's
