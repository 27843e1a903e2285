"""The objectives against independent references: torch.distributions, Monte
Carlo, and a linear-Gaussian model whose log p(x) and posterior are exact."""

import math

import pytest
import torch
from torch import distributions

from vae import objectives


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def test_bernoulli_log_likelihood_matches_torch_distributions(gen):
    logits = torch.randn(5, 7, 3, generator=gen) * 3
    x = torch.bernoulli(torch.full((5, 7, 3), 0.4), generator=gen)
    expected = distributions.Bernoulli(logits=logits).log_prob(x).sum(dim=(1, 2))
    torch.testing.assert_close(objectives.bernoulli_log_likelihood(x, logits), expected)


def test_gaussian_log_density_matches_torch_distributions(gen):
    x, mean = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    logvar = torch.randn(4, 6, generator=gen)
    expected = distributions.Normal(mean, torch.exp(0.5 * logvar)).log_prob(x).sum(dim=1)
    torch.testing.assert_close(objectives.gaussian_log_density(x, mean, logvar), expected)
    # A scalar log-variance broadcasts.
    expected = distributions.Normal(mean, math.exp(0.5 * -1.3)).log_prob(x).sum(dim=1)
    torch.testing.assert_close(objectives.gaussian_log_density(x, mean, -1.3), expected)


def test_gaussian_log_density_defaults_to_the_standard_normal(gen):
    z = torch.randn(3, 5, generator=gen) * 2
    standard = distributions.MultivariateNormal(torch.zeros(5), torch.eye(5))
    torch.testing.assert_close(objectives.gaussian_log_density(z), standard.log_prob(z))


def test_gaussian_log_density_sums_the_event_dimensions_it_is_told(gen):
    # Images: one point is the last two dimensions.
    x = torch.rand(2, 4, 3, generator=gen)
    mean = torch.rand(2, 4, 3, generator=gen)
    expected = distributions.Independent(distributions.Normal(mean, 0.2), 2).log_prob(x)
    actual = objectives.gaussian_log_density(x, mean, 2 * math.log(0.2), event_dims=2)
    torch.testing.assert_close(actual, expected)
    # k codes per example against one q per example: the leading dimension broadcasts.
    mu, logvar = torch.randn(4, 2, generator=gen), torch.randn(4, 2, generator=gen)
    z = torch.randn(7, 4, 2, generator=gen)
    q = distributions.Independent(distributions.Normal(mu, torch.exp(0.5 * logvar)), 1)
    actual = objectives.gaussian_log_density(z, mu, logvar)
    assert actual.shape == (7, 4)
    torch.testing.assert_close(actual, q.log_prob(z))


def test_gaussian_kl_matches_torch_distributions(gen):
    mu, logvar = torch.randn(8, 4, generator=gen), torch.randn(8, 4, generator=gen)
    pmu, plogvar = torch.randn(8, 4, generator=gen), torch.randn(8, 4, generator=gen)
    q = distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = distributions.Normal(pmu, torch.exp(0.5 * plogvar))
    torch.testing.assert_close(
        objectives.gaussian_kl(mu, logvar, pmu, plogvar), distributions.kl_divergence(q, p).sum(-1)
    )
    standard = distributions.Normal(torch.zeros(4), torch.ones(4))
    torch.testing.assert_close(
        objectives.gaussian_kl(mu, logvar), distributions.kl_divergence(q, standard).sum(-1)
    )


def test_per_dimension_kl_matches_torch_distributions_and_sums_to_the_kl(gen):
    mu, logvar = torch.randn(8, 4, generator=gen), torch.randn(8, 4, generator=gen)
    pmu, plogvar = torch.randn(8, 4, generator=gen), torch.randn(8, 4, generator=gen)
    q = distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = distributions.Normal(pmu, torch.exp(0.5 * plogvar))
    per_dimension = objectives.gaussian_kl_per_dimension(mu, logvar, pmu, plogvar)
    assert per_dimension.shape == (8, 4)
    torch.testing.assert_close(per_dimension, distributions.kl_divergence(q, p))
    torch.testing.assert_close(
        objectives.gaussian_kl_per_dimension(mu, logvar),
        distributions.kl_divergence(q, distributions.Normal(0.0, 1.0)),
    )
    torch.testing.assert_close(
        per_dimension.sum(-1), objectives.gaussian_kl(mu, logvar, pmu, plogvar)
    )


def test_gaussian_kl_matches_monte_carlo(gen):
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.3, -0.7, 0.0]], dtype=torch.float64)
    q = distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = mu + q.scale * torch.randn(200_000, 3, generator=gen, dtype=torch.float64)
    p = distributions.Normal(0.0, 1.0)
    values = (q.log_prob(z) - p.log_prob(z)).sum(-1)  # log q(z) - log p(z), z ~ q
    standard_error = values.std() / math.sqrt(values.numel())
    analytic = objectives.gaussian_kl(mu, logvar)[0]
    assert abs(values.mean() - analytic) < 4 * standard_error


def test_gaussian_kl_is_zero_only_at_the_prior():
    assert objectives.gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 0.0
    assert objectives.gaussian_kl(torch.full((1, 3), 0.1), torch.zeros(1, 3)).item() > 0.0


def test_extreme_inputs_stay_finite():
    logits = torch.tensor([[-1e4, 1e4, 0.0, -80.0, 80.0]])
    for x in (torch.zeros(1, 5), torch.ones(1, 5), torch.full((1, 5), 0.5)):
        assert torch.isfinite(objectives.bernoulli_log_likelihood(x, logits)).all()
    mu = torch.tensor([[1e3, -1e3]])
    logvar = torch.tensor([[-30.0, 30.0]])
    assert torch.isfinite(objectives.gaussian_kl(mu, logvar)).all()
    log_w = torch.tensor([[-1e4, 0.0], [-1e4 - 1, -5e3]])
    assert torch.isfinite(objectives.iwae_bound(log_w)).all()


def test_free_bits_floor_each_dimensions_batch_mean_kl():
    """By hand: dimension means 0.2 and 1.5 nats, lambda 0.5: 0.5 + 1.5. The
    floored dimension has no gradient; the other has the batch mean's, 1/B."""
    kl = torch.tensor([[0.1, 2.0], [0.3, 1.0]], requires_grad=True)
    value = objectives.free_bits_kl(kl, 0.5)
    assert value.item() == pytest.approx(2.0)
    value.backward()
    torch.testing.assert_close(kl.grad, torch.tensor([[0.0, 0.5], [0.0, 0.5]]))
    assert objectives.free_bits_kl(kl, 0.0).item() == pytest.approx(kl.sum(1).mean().item())


def test_the_optimal_sigma_maximises_the_gaussian_likelihood(gen):
    """Against a dense scan of sigma, scoring with torch.distributions."""
    x = torch.rand(4, 28, 28, generator=gen)
    mean = torch.rand(4, 28, 28, generator=gen)
    sigma = objectives.optimal_sigma(x, mean)
    torch.testing.assert_close(sigma, ((x - mean) ** 2).mean().sqrt())
    scan = torch.linspace(0.5, 1.5, 1001) * sigma
    scores = torch.stack([torch.distributions.Normal(mean, s).log_prob(x).sum() for s in scan])
    assert scan[scores.argmax()].item() == pytest.approx(sigma.item(), rel=2e-3)


def test_elbo_weights_the_kl_by_beta():
    rec, kl = torch.tensor([-10.0]), torch.tensor([4.0])
    assert objectives.elbo(rec, kl).item() == -14.0
    assert objectives.elbo(rec, kl, beta=0.5).item() == -12.0


def test_iwae_with_one_sample_is_the_log_weight():
    log_w = torch.tensor([[-3.0, -7.0]])
    torch.testing.assert_close(objectives.iwae_bound(log_w), log_w[0])


def test_mean_iwae_bound_averages_the_bounds_of_disjoint_blocks(gen):
    log_w = torch.randn(12, 3, generator=gen, dtype=torch.float64) * 2  # (K, B)
    for k in (1, 3, 4, 12):
        # Block j of example b is log_w[j k : (j + 1) k, b]; its bound log mean exp.
        expected = torch.tensor(
            [
                sum(
                    math.log(sum(math.exp(w) for w in log_w[j * k : (j + 1) * k, b].tolist()) / k)
                    for j in range(12 // k)
                )
                / (12 // k)
                for b in range(3)
            ],
            dtype=torch.float64,
        )
        torch.testing.assert_close(objectives.mean_iwae_bound(log_w, k), expected)


# -- a linear-Gaussian model: p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I) ----------


class LinearGaussian:
    """Columns of W are orthogonal, so the exact posterior has diagonal covariance."""

    def __init__(self, gen):
        self.d, self.n, self.noise_logvar = 3, 6, math.log(0.5**2)
        orthonormal, _ = torch.linalg.qr(
            torch.randn(self.n, self.d, generator=gen, dtype=torch.float64)
        )
        self.W = orthonormal * torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)  # orthogonal
        self.b = torch.randn(self.n, generator=gen, dtype=torch.float64)
        self.s2 = math.exp(self.noise_logvar)

    def log_px(self, x):
        cov = self.W @ self.W.T + self.s2 * torch.eye(self.n, dtype=torch.float64)
        return distributions.MultivariateNormal(self.b, cov).log_prob(x)

    def posterior(self, x):
        """Exact N(m, diag(v)) of p(z|x): precision I + W^T W / s^2."""
        precision = 1.0 + (self.W**2).sum(0) / self.s2  # (d,), diagonal
        v = 1.0 / precision
        m = v * ((x - self.b) @ self.W) / self.s2
        return m, torch.log(v).expand_as(m)

    def analytic_elbo(self, x, m, logvar):
        """E_q[log p(x|z)] in closed form, minus the KL computed by the package."""
        mean = m @ self.W.T + self.b
        expected_rec = (
            objectives.gaussian_log_density(x, mean, self.noise_logvar)
            - 0.5 * ((self.W**2).sum(0) * torch.exp(logvar)).sum(-1) / self.s2
        )
        return objectives.elbo(expected_rec, objectives.gaussian_kl(m, logvar))

    def log_weights(self, x, m, logvar, k, gen):
        z = m + torch.exp(0.5 * logvar) * torch.randn(k, *m.shape, generator=gen, dtype=m.dtype)
        rec = objectives.gaussian_log_density(
            x.expand(k, *x.shape).reshape(-1, self.n),
            (z @ self.W.T + self.b).reshape(-1, self.n),
            self.noise_logvar,
        ).view(k, -1)
        return (
            rec + objectives.gaussian_log_density(z) - objectives.gaussian_log_density(z, m, logvar)
        )


@pytest.fixture
def linear(gen):
    model = LinearGaussian(gen)
    z = torch.randn(16, model.d, generator=gen, dtype=torch.float64)
    x = z @ model.W.T + model.b + 0.5 * torch.randn(16, model.n, generator=gen, dtype=torch.float64)
    return model, x


def test_elbo_equals_log_px_at_the_exact_posterior(linear):
    model, x = linear
    m, logvar = model.posterior(x)
    torch.testing.assert_close(model.analytic_elbo(x, m, logvar), model.log_px(x))


def test_elbo_gap_is_the_kl_to_the_posterior_and_never_negative(linear, gen):
    model, x = linear
    m, logvar = model.posterior(x)
    for shift in (0.05, 0.3, 1.0):
        qm = m + shift * torch.randn(m.shape, generator=gen, dtype=m.dtype)
        qlogvar = logvar + shift * torch.randn(m.shape, generator=gen, dtype=m.dtype)
        gap = model.log_px(x) - model.analytic_elbo(x, qm, qlogvar)
        assert (gap > 0).all()
        # log p(x) - ELBO = KL(q(z|x) || p(z|x)), also in closed form here.
        torch.testing.assert_close(gap, objectives.gaussian_kl(qm, qlogvar, m, logvar))


def test_monte_carlo_elbo_matches_the_closed_form(linear, gen):
    model, x = linear
    m, logvar = model.posterior(x)
    qm, qlogvar = m + 0.4, logvar - 0.5
    log_w = model.log_weights(x, qm, qlogvar, 20_000, gen)
    # E_q[log w] = ELBO: the mean log weight is a one-sample ELBO averaged.
    standard_error = log_w.std(0) / math.sqrt(log_w.shape[0])
    error = (log_w.mean(0) - model.analytic_elbo(x, qm, qlogvar)).abs()
    assert (error < 4 * standard_error).all()


def test_iwae_bound_rises_with_k_towards_log_px(linear, gen):
    model, x = linear
    m, logvar = model.posterior(x)
    qm, qlogvar = m + 0.5, logvar + 0.7
    log_px = model.log_px(x).mean()
    bounds = []
    for k in (1, 10, 100, 1000):
        repeats = torch.stack(
            [objectives.iwae_bound(model.log_weights(x, qm, qlogvar, k, gen)) for _ in range(20)]
        )
        bounds.append(repeats.mean().item())
    assert all(b < log_px for b in bounds)
    assert bounds == sorted(bounds)
    assert log_px - bounds[-1] < 0.1 * (log_px - bounds[0])


def test_iwae_at_the_exact_posterior_is_exact(linear, gen):
    model, x = linear
    m, logvar = model.posterior(x)
    bound = objectives.iwae_bound(model.log_weights(x, m, logvar, 5, gen))
    torch.testing.assert_close(bound, model.log_px(x))
