"""Exact log p(x), the true posterior (`vae.exact`) and the gap split
(`vae.gaps`) against independent references: the closed forms of a
linear-Gaussian model, a finer grid, the importance-weighted bounds and
importance sampling of a trained 2-D VAE, and an optimiser that knows nothing
of the grid."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import distributions as D

from vae import data as vae_data
from vae import exact, objectives
from vae.bounds import sample_log_weights, shortfall
from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.families import FullCovariance, Posterior
from vae.gaps import (
    best_gaussian,
    exclusive_kl,
    grid_elbo,
    grid_elbo_of,
    inclusive_kl,
    inference_gaps,
    q_mass,
)
from vae.models import build_model
from vae.train import train

# -- a linear-Gaussian model: p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I) -------------


class LinearGaussian:
    """Everything exact: p(x) = N(b, W W^T + s^2 I), p(z|x) = N(m, Lambda^-1) with
    precision Lambda = I + W^T W / s^2. W's columns are not orthogonal, so the
    posterior is correlated and no diagonal Gaussian matches it."""

    def __init__(self, gen, noise_std=0.05):
        self.n = 6
        self.config = SimpleNamespace(likelihood="gaussian", observation_sigma=noise_std)
        u, _ = torch.linalg.qr(torch.randn(self.n, 2, generator=gen, dtype=torch.float64))
        # Columns of length 0.8 at an angle whose cosine is 0.8: a posterior
        # correlation of about -0.8.
        self.W = 0.8 * torch.stack([u[:, 0], 0.8 * u[:, 0] + 0.6 * u[:, 1]], dim=1)
        self.b = torch.randn(self.n, generator=gen, dtype=torch.float64)
        self.s2 = noise_std**2
        self.precision = torch.eye(2, dtype=torch.float64) + self.W.T @ self.W / self.s2

    def likelihood_params(self, z):
        return z.double() @ self.W.T + self.b

    def log_px(self, x):
        cov = self.W @ self.W.T + self.s2 * torch.eye(self.n, dtype=torch.float64)
        return D.MultivariateNormal(self.b, cov).log_prob(x)

    def posterior_mean(self, x):
        return torch.linalg.solve(self.precision, ((x - self.b) @ self.W / self.s2).T).T

    def elbo(self, x, mu, logvar):
        """ELBO of N(mu, diag e^logvar) in closed form: E_q[log p(x|z)] - KL(q || p(z))."""
        expected_rec = (
            objectives.gaussian_log_density(x, mu @ self.W.T + self.b, math.log(self.s2))
            - 0.5 * ((self.W**2).sum(0) * torch.exp(logvar)).sum(-1) / self.s2
        )
        return expected_rec - objectives.gaussian_kl(mu, logvar)


@pytest.fixture
def linear():
    gen = torch.Generator().manual_seed(0)
    model = LinearGaussian(gen)
    z = torch.randn(8, 2, generator=gen, dtype=torch.float64) * 1.5  # some far from 0
    x = model.likelihood_params(z) + 0.1 * torch.randn(8, model.n, generator=gen).double()
    return model, x


def test_linear_gaussian_posteriors_are_narrow_like_the_vaes(linear):
    model, _ = linear
    sd = torch.linalg.eigvalsh(model.precision).rsqrt()  # along the principal axes
    assert sd.min() < 0.05 and sd.max() < 0.15


def test_log_marginal_matches_the_closed_form(linear):
    model, x = linear
    torch.testing.assert_close(exact.log_marginal(model, x), model.log_px(x), atol=0.01, rtol=0)


def test_posterior_moments_and_mode_match_the_closed_form(linear):
    model, x = linear
    posterior = exact.posterior_on_grid(model, x)
    mean, var = exact.posterior_moments(posterior)
    exact_mean = model.posterior_mean(x)
    torch.testing.assert_close(mean, exact_mean, atol=1e-4, rtol=0)
    exact_var = torch.linalg.inv(model.precision).diagonal().expand_as(var)
    torch.testing.assert_close(var, exact_var, atol=1e-4, rtol=1e-3)
    # The mode of a Gaussian is its mean; the grid's mode is a cell centre near it
    # (for a tilted ellipse, not always the nearest one).
    assert ((posterior.mode - exact_mean).abs() <= posterior.step).all()
    assert (posterior.mass > 1 - 1e-6).all()


def test_grid_elbo_matches_the_closed_form(linear):
    model, x = linear
    gen = torch.Generator().manual_seed(1)
    mu = model.posterior_mean(x) + 0.05 * torch.randn(x.shape[0], 2, generator=gen).double()
    logvar = torch.full_like(mu, 2 * math.log(0.08))
    posterior = exact.posterior_on_grid(model, x, cover=(mu, logvar))
    assert (q_mass(posterior, mu, logvar) > 1 - 1e-4).all()
    torch.testing.assert_close(
        grid_elbo(posterior, mu, logvar), model.elbo(x, mu, logvar), atol=0.01, rtol=0
    )


def test_best_gaussian_is_the_mean_field_optimum(linear):
    """For a Gaussian posterior N(m, Lambda^-1) the best diagonal Gaussian under
    KL(q || p) is N(m, diag(1 / Lambda_jj)), and its gap is
    (sum_j log Lambda_jj - log det Lambda) / 2."""
    model, x = linear
    posterior = exact.posterior_on_grid(model, x)
    mean, var = exact.posterior_moments(posterior)
    mu, logvar, elbo = best_gaussian(posterior, [(mean, var.log())])
    torch.testing.assert_close(mu, model.posterior_mean(x), atol=1e-3, rtol=0)
    expected_var = 1 / model.precision.diagonal()
    torch.testing.assert_close(torch.exp(logvar), expected_var.expand_as(logvar), rtol=1e-2, atol=0)
    gap = 0.5 * (model.precision.diagonal().log().sum() - torch.logdet(model.precision))
    assert gap > 0.1  # the correlation makes the gap worth measuring
    torch.testing.assert_close(posterior.log_px - elbo, gap.expand(x.shape[0]), atol=0.01, rtol=0)


def test_both_kl_directions_match_the_closed_form(linear):
    """KL(q || p(z|x)) and KL(p(z|x) || q) on the grid, for one example taken out of
    the batch with `select`, against torch.distributions' Gaussian KL: the posterior
    is the correlated N(m, Lambda^-1), q a diagonal Gaussian near it."""
    model, x = linear
    mu = model.posterior_mean(x) + 0.03
    logvar = torch.full_like(mu, 2 * math.log(0.06))
    posterior = exact.posterior_on_grid(model, x, cover=(mu, logvar))
    covariance = torch.linalg.inv(model.precision)
    for i in (0, 5):
        one = posterior.select(slice(i, i + 1))
        assert one.log_px.item() == posterior.log_px[i].item()
        q = D.MultivariateNormal(mu[i], torch.diag(torch.exp(logvar[i])))
        p = D.MultivariateNormal(model.posterior_mean(x)[i], covariance)
        args = (one, mu[i : i + 1], logvar[i : i + 1])
        assert exclusive_kl(*args).item() == pytest.approx(D.kl_divergence(q, p).item(), abs=0.01)
        assert inclusive_kl(*args).item() == pytest.approx(D.kl_divergence(p, q).item(), abs=0.01)


def test_the_exact_posterior_as_a_full_covariance_q_has_no_gap(linear):
    """The linear-Gaussian posterior is a correlated Gaussian, which no diagonal q
    matches and the full-covariance family holds: its grid ELBO is log p(x)."""
    model, x = linear
    covariance = torch.linalg.inv(model.precision)
    L = torch.linalg.cholesky(covariance).expand(len(x), 2, 2)
    diagonal = torch.diagonal(L, dim1=-2, dim2=-1)
    q = FullCovariance(Posterior(model.posterior_mean(x), 2 * diagonal.log()), L.tril(-1))
    posterior = exact.posterior_on_grid(model, x, cover=(q.mu, q.marginal_logvar))
    torch.testing.assert_close(grid_elbo_of(posterior, q), posterior.log_px, atol=1e-3, rtol=0)
    # The best diagonal Gaussian (variances 1 / Lambda_jj) falls short by about half a nat.
    mean_field = grid_elbo(posterior, q.mu, -torch.diagonal(model.precision).log().expand(8, 2))
    assert (mean_field < posterior.log_px - 0.1).all()


def test_the_grid_scores_gray_digits_with_a_learned_sigma():
    """The grid's expanded-square likelihood of a sigma-VAE, with its learned
    sigma, against the model's own log p(x|z), pair by pair."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden_sizes=(16,), likelihood="gaussian-learned"))
    with torch.no_grad():
        model.log_sigma.fill_(math.log(0.23))
        x = torch.rand(3, 28, 28, generator=torch.Generator().manual_seed(1))
        z = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
        params = model.likelihood_params(z)
        expected = torch.stack(
            [model.log_likelihood(x[b].expand(5, 28, 28), params) for b in range(3)]
        )
    actual = exact.log_likelihood_matrix(model, x, z)
    torch.testing.assert_close(actual, expected.double(), rtol=1e-5, atol=1e-3)


def test_the_answer_does_not_depend_on_the_rest_of_the_batch(linear):
    model, x = linear
    torch.testing.assert_close(exact.log_marginal(model, x[3:4]), exact.log_marginal(model, x)[3:4])


# -- a trained 2-D VAE --------------------------------------------------------------


@pytest.fixture(scope="module")
def vae():
    config = RunConfig(
        ModelConfig(kind="vae", hidden_sizes=(128,), latent_dim=2),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=3),
    )
    dataset = vae_data.load_dataset("mnist5k")
    model, _ = train(config, dataset, progress=False)
    return model, vae_data.test_inputs(dataset, "dynamic")[:12]


def test_refining_the_grid_changes_log_px_by_less_than_a_hundredth(vae):
    model, x = vae
    log_px = exact.log_marginal(model, x)
    for finer in (exact.Grid(refine=8), exact.Grid(coarse_step=0.1, threshold=20)):
        assert (exact.log_marginal(model, x, finer) - log_px).abs().max() < 0.01


def test_log_px_is_above_every_importance_weighted_bound(vae):
    """E[L_k] <= log p(x) for every k. Each L_k is averaged over R independent
    draws; the Monte Carlo noise allowed is three standard errors of that mean,
    plus the grid's own error of a few thousandths of a nat. `vae.bounds` gives
    the same shortfall as the disjoint groups taken here."""
    model, x = vae
    log_px = exact.log_marginal(model, x)
    samples, repeats, ks = 1000, 8, (1, 10, 100, 1000)
    k = samples * repeats
    log_w = sample_log_weights(model, x, k, seed=0, codes=k * len(x))  # (k, B), one group
    with torch.no_grad():
        direct = model.log_weights(x, k, torch.Generator().manual_seed(0))
    torch.testing.assert_close(log_w, direct.double())
    gaps = []
    for k in ks:
        groups = log_w.view(-1, k, x.shape[0])  # disjoint groups of k samples
        bounds = torch.logsumexp(groups, dim=1) - math.log(k)  # (groups, B)
        mean, noise = bounds.mean(0), 3 * bounds.std(0) / math.sqrt(bounds.shape[0])
        assert (mean <= log_px + noise + 0.005).all(), f"L_{k} above log p(x)"
        gaps.append((log_px - mean).mean().item())
    measured = shortfall(log_px, log_w, ks)
    torch.testing.assert_close(measured.gap, torch.tensor(gaps, dtype=torch.float64))
    # The bounds climb towards log p(x) and end close to it: log p(x) is not too high.
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 0.2 * gaps[0]


def test_gap_splits_into_two_nonnegative_parts(vae):
    model, x = vae
    gaps = inference_gaps(model, x)
    assert (gaps.approximation >= 0).all() and (gaps.amortization >= 0).all()
    torch.testing.assert_close(gaps.gap, gaps.approximation + gaps.amortization)
    # The encoder's grid ELBO is its ELBO: E_q[log p(x, z) - log q(z)] by the
    # midpoint rule on a grid of its own, 80 x 80 cells over q's +-6 sigma,
    # through the model's own likelihood.
    with torch.no_grad():
        encoded = model.encode(x)
    mu, sigma = encoded.mu.double(), torch.exp(0.5 * encoded.logvar).double()
    t = torch.linspace(-6, 6, 81, dtype=torch.float64)
    t = (t[1:] + t[:-1]) / 2  # cell centres, in standard deviations of q
    eps = torch.stack(torch.meshgrid(t, t, indexing="ij"), dim=-1).reshape(-1, 2)
    for i in range(x.shape[0]):
        z = mu[i] + sigma[i] * eps  # (G, 2)
        with torch.no_grad():
            params = model.likelihood_params(z.float())
            log_px_z = model.log_likelihood(x[i].expand(z.shape[0], *x.shape[1:]), params)
        log_q = D.Normal(mu[i], sigma[i]).log_prob(z).sum(-1)
        log_joint = log_px_z.double() + D.Normal(0.0, 1.0).log_prob(z).sum(-1)
        weight = torch.softmax(log_q, 0)  # q's share of each cell
        elbo = (weight * (log_joint - log_q)).sum()
        assert abs(gaps.elbo[i] - elbo) < 0.01


@pytest.fixture(scope="module", params=["full", "flow"])
def richer(request):
    """A 2-D VAE whose q is a full-covariance Gaussian or a flow, trained briefly."""
    config = RunConfig(
        ModelConfig(hidden_sizes=(128,), posterior=request.param),
        DataConfig("mnist5k", "dynamic"),
        TrainConfig(epochs=3),
    )
    dataset = vae_data.load_dataset("mnist5k")
    model, _ = train(config, dataset, progress=False)
    return model, vae_data.test_inputs(dataset, "dynamic")[:6]


def test_the_gap_of_a_richer_q_splits_and_its_grid_elbo_is_its_monte_carlo_elbo(richer):
    """The encoder's ELBO on the grid, with q's own density, against the mean of
    20,000 log-weights log p(x, z) - log q(z|x) through the decoder, within four
    standard errors and the grid's hundredth of a nat."""
    model, x = richer
    gaps = inference_gaps(model, x)
    assert (gaps.approximation >= 0).all() and (gaps.amortization >= 0).all()
    torch.testing.assert_close(gaps.gap, gaps.approximation + gaps.amortization)
    with torch.no_grad():
        log_w = model.log_weights(x, 20_000, torch.Generator().manual_seed(0)).double()
    noise = 4 * log_w.std(0) / math.sqrt(log_w.shape[0])
    assert ((log_w.mean(0) - gaps.elbo).abs() < noise + 0.01).all()


@pytest.mark.slow
def test_no_optimiser_beats_the_best_gaussian(vae):
    """Adam on the reparameterized Monte Carlo ELBO, through the decoder, without
    the grid: its q scores no better than the grid's best q, up to noise."""
    model, x = vae
    x = x[:3]
    gaps = inference_gaps(model, x)
    encoded = model.encode(x)
    mu = encoded.mu.detach().clone().requires_grad_()
    logvar = encoded.logvar.detach().clone().requires_grad_()
    optimizer = torch.optim.Adam([mu, logvar], lr=0.02)
    gen = torch.Generator().manual_seed(2)
    samples = 32
    for _ in range(200):
        z = mu + torch.exp(0.5 * logvar) * torch.randn(samples, *mu.shape, generator=gen)
        log_px_z = model.log_likelihood(
            x.expand(samples, *x.shape).flatten(end_dim=1),
            model.likelihood_params(z.flatten(end_dim=1)),
        ).view(samples, -1)
        elbo = log_px_z.mean(0) - objectives.gaussian_kl(mu, logvar)
        optimizer.zero_grad()
        (-elbo.sum()).backward()
        optimizer.step()
    adam = grid_elbo(gaps.posterior, mu.detach(), logvar.detach())
    assert (adam <= gaps.best_elbo + 0.01).all()
    assert (gaps.best_elbo <= gaps.log_px).all()


def importance_sample(model, x, n, gen):
    """z from a proposal blind to the grid: half from the encoder's q widened
    twofold, half from the prior; returns z (n, 2) and self-normalised weights."""
    with torch.no_grad():
        encoded = model.encode(x[None])
    mu, sigma = encoded.mu[0].double(), 2 * torch.exp(0.5 * encoded.logvar[0]).double()
    z = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    z[: n // 2] = mu + sigma * z[: n // 2]
    log_proposal = torch.logaddexp(
        D.Normal(mu, sigma).log_prob(z).sum(1), D.Normal(0.0, 1.0).log_prob(z).sum(1)
    ) - math.log(2)
    images = x.expand(10_000, *x.shape)
    with torch.no_grad():
        log_px_z = torch.cat(
            [
                model.log_likelihood(images[: part.shape[0]], model.likelihood_params(part))
                for part in z.float().split(10_000)
            ]
        )
    log_joint = log_px_z.double() + D.Normal(0.0, 1.0).log_prob(z).sum(-1)
    log_w = log_joint - log_proposal
    return z, log_joint, log_w


@pytest.mark.slow
def test_posterior_mode_and_mass_agree_with_importance_sampling(vae):
    model, x = vae
    gaps = inference_gaps(model, x)
    posterior = gaps.posterior
    # Two digits: the most Gaussian posterior and the least.
    for i in (int(gaps.approximation.argmin()), int(gaps.approximation.argmax())):
        gen = torch.Generator().manual_seed(i)
        z, log_joint, log_w = importance_sample(model, x[i], 100_000, gen)
        weight = torch.softmax(log_w, 0)
        ess = 1 / weight.square().sum()
        assert ess > 2000
        # log p(x) = log E_proposal[w]: the estimate's noise is about 1 / sqrt(ESS).
        log_px = torch.logsumexp(log_w, 0) - math.log(z.shape[0])
        assert abs(log_px - posterior.log_px[i]) < 3 / math.sqrt(ess)
        # The mode: the sampled z of highest density lies within a cell of the grid's.
        mode = posterior.mode[i]
        assert (z[log_joint.argmax()] - mode).abs().max() < 1.5 * posterior.step
        # The mass of boxes around the mode whose sides fall on cell edges.
        h = posterior.step
        for half in (2, 4, 8):
            inside = ((posterior.z[i] - mode).abs() < (half + 0.5) * h).all(1)
            grid_mass = torch.exp(posterior.log_density[i][inside] + 2 * math.log(h)).sum()
            sampled = weight[((z - mode).abs() < (half + 0.5) * h).all(1)].sum()
            assert abs(grid_mass - sampled) < 4 / math.sqrt(ess) + 0.005


def test_kl_of_a_wide_gaussian_on_a_covering_grid_matches_monte_carlo(vae):
    """KL(q || p(z|x)) of a Gaussian wider than the posterior (the moment-matched
    one of a two-lobed posterior is such), on a grid refined over q's mass, against
    E_q[log q(z) - log p(x, z)] + log p(x) from samples of q through the decoder.
    On the posterior's own grid most of q lies on coarse cells, which `q_mass` says."""
    model, x = vae
    x = x[:2]
    with torch.no_grad():
        encoded = model.encode(x)
    mu, logvar = encoded.mu.double(), encoded.logvar.double() + 2 * math.log(4.0)  # 4x wider
    assert (q_mass(exact.posterior_on_grid(model, x), mu, logvar) < 0.99).all()
    covered = exact.posterior_on_grid(model, x, cover=(mu, logvar))
    assert (q_mass(covered, mu, logvar) > 0.999).all()
    kl = exclusive_kl(covered, mu, logvar)
    gen = torch.Generator().manual_seed(3)
    n = 20_000
    for i in range(len(x)):
        q = D.Independent(D.Normal(mu[i], torch.exp(0.5 * logvar[i])), 1)
        z = mu[i] + torch.exp(0.5 * logvar[i]) * torch.randn(
            n, 2, generator=gen, dtype=torch.float64
        )
        with torch.no_grad():
            log_px_z = model.log_likelihood(
                x[i].expand(n, *x.shape[1:]), model.likelihood_params(z.float())
            ).double()
        log_joint = log_px_z + D.Normal(0.0, 1.0).log_prob(z).sum(-1)
        terms = q.log_prob(z) - log_joint + covered.log_px[i]
        noise = 4 * terms.std() / math.sqrt(n)
        assert abs(terms.mean() - kl[i]) < noise + 0.01
