"""The split of the average KL term (figures/aggregate_posterior.py) against
independent computations: KL(q(z) || p(z)) by quadrature on a grid and by plain
Monte Carlo with torch.distributions' mixture, and the two extreme cases."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch
from torch import distributions as dist

SCRIPT = Path(__file__).resolve().parents[1] / "figures" / "aggregate_posterior.py"


@pytest.fixture(scope="module")
def surgery():
    spec = importlib.util.spec_from_file_location("aggregate_posterior", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mixture(mu, logvar):
    """The equally weighted mixture of diagonal Gaussians, in torch.distributions."""
    components = dist.Independent(dist.Normal(mu, torch.exp(0.5 * logvar)), 1)
    weights = dist.Categorical(torch.ones(mu.shape[0], dtype=mu.dtype))
    return dist.MixtureSameFamily(weights, components)


def quadrature_kl(mu, logvar, limit=8.0, points=401):
    """KL(q || N(0, I)) for a 2-D mixture q, by the midpoint rule on a square grid."""
    axis = torch.linspace(-limit, limit, points, dtype=torch.float64)
    step = float(axis[1] - axis[0])
    z = torch.cartesian_prod(axis, axis)
    log_q = mixture(mu, logvar).log_prob(z)
    log_p = dist.Independent(dist.Normal(torch.zeros(2), torch.ones(2)), 1).log_prob(z.float())
    q = log_q.exp()
    return float((q * (log_q - log_p.double())).sum() * step**2)


def random_codes(n, seed):
    generator = torch.Generator().manual_seed(seed)
    mu = 1.5 * torch.randn((n, 2), generator=generator, dtype=torch.float64)
    logvar = -1.0 + 0.5 * torch.randn((n, 2), generator=generator, dtype=torch.float64)
    return mu, logvar


def test_mixture_density_matches_torch_distributions(surgery):
    mu, logvar = random_codes(7, seed=1)
    z = torch.randn((50, 2), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    expected = mixture(mu, logvar).log_prob(z)
    torch.testing.assert_close(surgery.mixture_log_density(z, mu, logvar), expected)


def test_one_component_has_no_mutual_information(surgery):
    mu = torch.tensor([[0.7, -1.2]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.3]], dtype=torch.float64)
    split = surgery.elbo_surgery(mu, logvar, 100, torch.Generator().manual_seed(0))
    # With a single digit q(z) = q(z|x): the KL of the marginal is the per-digit KL.
    assert split["mutual_information"] == pytest.approx(0.0, abs=1e-9)
    assert split["marginal_kl"] == pytest.approx(split["average_kl"], abs=1e-9)
    assert split["mutual_information_max"] == 0.0


def test_marginal_kl_matches_quadrature(surgery):
    mu, logvar = random_codes(12, seed=3)
    split = surgery.elbo_surgery(mu, logvar, 4000, torch.Generator().manual_seed(4))
    expected = quadrature_kl(mu, logvar)
    assert abs(split["marginal_kl"] - expected) < 4 * split["standard_error"] + 1e-3
    assert split["standard_error"] < 0.02


def test_marginal_kl_matches_plain_monte_carlo(surgery):
    # KL(q || p) = E_q[log q(z) - log p(z)] from torch.distributions' own mixture sampler.
    mu, logvar = random_codes(10, seed=5)
    split = surgery.elbo_surgery(mu, logvar, 4000, torch.Generator().manual_seed(6))
    torch.manual_seed(7)
    q = mixture(mu, logvar)
    z = q.sample((100_000,))
    log_p = dist.Independent(dist.Normal(torch.zeros(2), torch.ones(2)), 1).log_prob(z.float())
    values = q.log_prob(z) - log_p.double()
    direct = float(values.mean())
    tolerance = 4 * (float(values.std()) / math.sqrt(values.numel()) + split["standard_error"])
    assert split["marginal_kl"] == pytest.approx(direct, abs=tolerance)
    assert 0.0 < split["mutual_information"] < math.log(10)


def test_far_apart_codes_carry_log_n_nats(surgery):
    # Components that do not overlap: the code says exactly which digit it was.
    mu = torch.tensor([[-30.0, 0.0], [0.0, 30.0], [30.0, 0.0], [0.0, -30.0]], dtype=torch.float64)
    logvar = torch.full_like(mu, -2.0)
    split = surgery.elbo_surgery(mu, logvar, 200, torch.Generator().manual_seed(8))
    assert split["mutual_information"] == pytest.approx(math.log(4), abs=1e-6)


def test_class_shares_are_responsibilities(surgery):
    mu = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [3.0, 0.1]], dtype=torch.float64)
    logvar = torch.zeros_like(mu)
    labels = torch.tensor([0, 1, 1])
    z = torch.tensor([[-3.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
    shares, se = surgery.class_shares(z, mu, logvar, labels, 2)
    assert shares.sum() == pytest.approx(1.0)
    assert shares[0] == pytest.approx(0.5, abs=0.01)
    assert (se >= 0).all()
