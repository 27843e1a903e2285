"""The gradient estimators of figures/reparameterization.py, and the package's
reparameterization (`vae.models.reparameterize`), against closed forms.

For f(z) = a z + c and q = N(mu, sigma^2) in one dimension, d/dmu E_q[f] = a, and
one draw of the score-function estimator with baseline b is

    (f(z) - b) eps / sigma = (a mu + c - b) eps / sigma + a eps^2,

whose variance is (a mu + c - b)^2 / sigma^2 + 2 a^2 (eps is standard normal, so
eps and eps^2 are uncorrelated and Var eps^2 = 2). The reparameterized estimator
is exactly a.
"""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from vae.models import reparameterize

SCRIPT = Path(__file__).resolve().parents[1] / "figures" / "reparameterization.py"
A, C, MU, SIGMA = 1.5, -4.0, 0.7, 0.3


@pytest.fixture(scope="module")
def estimators():
    spec = importlib.util.spec_from_file_location("reparameterization", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def linear(z):
    return (A * z + C).squeeze(-1)  # (R, n, 1) -> (R, n)


def draws(repeats, n, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((repeats, n, 1), generator=generator, dtype=torch.float64)


def closed_form_variance(baseline, n):
    return ((A * MU + C - baseline) ** 2 / SIGMA**2 + 2 * A**2) / n


@pytest.mark.parametrize("baseline", [0.0, A * MU + C, 2.0])
@pytest.mark.parametrize("n", [1, 8])
def test_score_function_variance_matches_closed_form(estimators, baseline, n):
    repeats = 100_000
    mu = torch.tensor([MU], dtype=torch.float64)
    sigma = torch.tensor([SIGMA], dtype=torch.float64)
    eps = draws(repeats, n, 0)
    values = linear(mu + sigma * eps)
    estimates = estimators.score_function_estimates(values, sigma, eps, baseline)
    expected = closed_form_variance(baseline, n)
    # A sample variance of R draws has a relative standard error of about
    # sqrt((kurtosis - 1) / R); these estimates are far from Gaussian, so allow 5%.
    assert float(estimates.var()) == pytest.approx(expected, rel=0.05)
    # Unbiased with any baseline that does not depend on the draw.
    standard_error = (expected / repeats) ** 0.5
    assert float(estimates.mean()) == pytest.approx(A, abs=5 * standard_error)


def test_the_shared_reparameterization_gives_unbiased_gradients_of_mu_and_logvar():
    """Through `vae.models.reparameterize`, z = mu + e^(logvar/2) eps: for f(z) = z^2,
    E_q[f] = mu^2 + e^logvar, so d/dmu = 2 mu and d/dlogvar = sigma^2. One draw's
    gradients are 2z and z sigma eps, of variances 4 sigma^2 and sigma^2 (mu^2 + 2 sigma^2)."""
    n = 200_000
    mu = torch.tensor([MU], dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([2 * math.log(SIGMA)], dtype=torch.float64, requires_grad=True)
    z = reparameterize(mu.expand(n, 1), logvar.expand(n, 1), torch.Generator().manual_seed(2))
    z.square().mean().backward()
    se_mu = math.sqrt(4 * SIGMA**2 / n)
    se_logvar = math.sqrt(SIGMA**2 * (MU**2 + 2 * SIGMA**2) / n)
    assert mu.grad.item() == pytest.approx(2 * MU, abs=4 * se_mu)
    assert logvar.grad.item() == pytest.approx(SIGMA**2, abs=4 * se_logvar)


def test_reparameterized_estimate_is_exact_for_a_linear_f(estimators):
    mu = torch.tensor([MU], dtype=torch.float64)
    sigma = torch.tensor([SIGMA], dtype=torch.float64)
    eps = draws(50, 4, 1)
    values, grad_z = estimators.draw(linear, mu, sigma, eps)
    torch.testing.assert_close(values, linear(mu + sigma * eps))
    estimates = estimators.reparameterized_estimates(grad_z)
    torch.testing.assert_close(estimates, torch.full_like(estimates, A))


def test_total_variance_sums_coordinates(estimators):
    estimates = torch.tensor([[0.0, 1.0], [2.0, 5.0]]).numpy()
    assert estimators.total_variance(estimates) == pytest.approx(1.0 + 4.0)
