"""The aggregate posterior (`vae.aggregate`) against independent computations:
torch.distributions' mixture, KL(q(z) || p(z)) by quadrature on a grid and by
plain Monte Carlo, the two extreme cases of the split, and dense scans."""

import math

import numpy as np
import pytest
import torch
from torch import distributions as dist

from vae import aggregate


def mixture(mu, logvar):
    """The equally weighted mixture of diagonal Gaussians, in torch.distributions."""
    components = dist.Independent(dist.Normal(mu, torch.exp(0.5 * logvar)), 1)
    weights = dist.Categorical(torch.ones(mu.shape[0], dtype=mu.dtype))
    return dist.MixtureSameFamily(weights, components)


def standard_normal(z):
    return dist.Independent(dist.Normal(torch.zeros_like(z), 1.0), 1).log_prob(z)


def quadrature_kl(mu, logvar, limit=8.0, points=401):
    """KL(q || N(0, I)) for a 2-D mixture q, by the midpoint rule on a square grid."""
    axis = torch.linspace(-limit, limit, points, dtype=torch.float64)
    step = float(axis[1] - axis[0])
    z = torch.cartesian_prod(axis, axis)
    log_q = mixture(mu, logvar).log_prob(z)
    return float((log_q.exp() * (log_q - standard_normal(z))).sum() * step**2)


def random_codes(n, seed):
    generator = torch.Generator().manual_seed(seed)
    mu = 1.5 * torch.randn((n, 2), generator=generator, dtype=torch.float64)
    logvar = -1.0 + 0.5 * torch.randn((n, 2), generator=generator, dtype=torch.float64)
    return mu, logvar


def points(n, seed, scale=2.0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn((n, 2), dtype=torch.float64, generator=generator)


def test_component_densities_match_torch_distributions():
    mu, logvar = random_codes(7, seed=11)
    z = points(30, seed=12)
    components = dist.Independent(dist.Normal(mu, torch.exp(0.5 * logvar)), 1)
    expected = components.log_prob(z[:, None, :])  # (S, N)
    torch.testing.assert_close(aggregate.component_log_densities(z, mu, logvar), expected)


def test_mixture_density_matches_torch_distributions():
    mu, logvar = random_codes(7, seed=1)
    z = points(50, seed=2, scale=1.0)
    expected = mixture(mu, logvar).log_prob(z)
    torch.testing.assert_close(aggregate.mixture_log_density(z, mu, logvar), expected)


def test_cell_density_is_the_mean_of_the_density_over_each_cell():
    mu, logvar = random_codes(7, seed=3)
    edges = torch.linspace(-4.0, 4.0, 9, dtype=torch.float64)  # cells 1 wide
    cells = aggregate.mixture_cell_density(edges, mu, logvar)
    # The midpoint rule on 40 x 40 points inside each cell, in torch.distributions.
    fine = torch.linspace(-4.0, 4.0, 8 * 40 + 1, dtype=torch.float64)
    centres = (fine[1:] + fine[:-1]) / 2
    z2, z1 = torch.meshgrid(centres, centres, indexing="ij")
    density = mixture(mu, logvar).log_prob(torch.stack([z1, z2], dim=-1)).exp()  # (320, 320)
    expected = density.view(8, 40, 8, 40).mean(dim=(1, 3))  # rows along z_2
    torch.testing.assert_close(cells, expected, atol=1e-4, rtol=1e-3)


def test_cell_density_holds_a_component_narrower_than_its_cell():
    # A component 0.01 wide, off its cell's centre: the density at the centres
    # of the cells is all but zero, their mean is its whole mass over the area.
    mu = torch.tensor([[0.3, -0.6]], dtype=torch.float64)
    logvar = torch.full((1, 2), 2 * math.log(0.01), dtype=torch.float64)
    edges = torch.linspace(-1.0, 1.0, 3, dtype=torch.float64)  # four cells 1 wide
    cells = aggregate.mixture_cell_density(edges, mu, logvar)
    torch.testing.assert_close(cells, torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=torch.float64))


def test_one_component_has_no_mutual_information():
    mu = torch.tensor([[0.7, -1.2]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.3]], dtype=torch.float64)
    split = aggregate.elbo_surgery(mu, logvar, 100, torch.Generator().manual_seed(0))
    # With a single digit q(z) = q(z|x): the KL of the marginal is the per-digit KL.
    assert split["mutual_information"] == pytest.approx(0.0, abs=1e-9)
    assert split["marginal_kl"] == pytest.approx(split["average_kl"], abs=1e-9)
    assert split["mutual_information_max"] == 0.0
    q = dist.Independent(dist.Normal(mu[0], torch.exp(0.5 * logvar[0])), 1)
    p = dist.Independent(dist.Normal(torch.zeros(2, dtype=torch.float64), 1.0), 1)
    assert split["average_kl"] == pytest.approx(dist.kl_divergence(q, p).item())


def test_marginal_kl_matches_quadrature():
    mu, logvar = random_codes(12, seed=3)
    split = aggregate.elbo_surgery(mu, logvar, 4000, torch.Generator().manual_seed(4))
    expected = quadrature_kl(mu, logvar)
    assert abs(split["marginal_kl"] - expected) < 4 * split["standard_error"] + 1e-3
    assert split["standard_error"] < 0.02


def test_marginal_kl_matches_plain_monte_carlo():
    # KL(q || p) = E_q[log q(z) - log p(z)] from torch.distributions' own mixture sampler.
    mu, logvar = random_codes(10, seed=5)
    split = aggregate.elbo_surgery(mu, logvar, 4000, torch.Generator().manual_seed(6))
    torch.manual_seed(7)
    q = mixture(mu, logvar)
    z = q.sample((100_000,))
    values = q.log_prob(z) - standard_normal(z)
    direct = float(values.mean())
    tolerance = 4 * (float(values.std()) / math.sqrt(values.numel()) + split["standard_error"])
    assert split["marginal_kl"] == pytest.approx(direct, abs=tolerance)
    assert 0.0 < split["mutual_information"] < math.log(10)


def test_far_apart_codes_carry_log_n_nats():
    # Components that do not overlap: the code says exactly which digit it was.
    mu = torch.tensor([[-30.0, 0.0], [0.0, 30.0], [30.0, 0.0], [0.0, -30.0]], dtype=torch.float64)
    logvar = torch.full_like(mu, -2.0)
    split = aggregate.elbo_surgery(mu, logvar, 200, torch.Generator().manual_seed(8))
    assert split["mutual_information"] == pytest.approx(math.log(4), abs=1e-6)


def test_hole_share_counts_the_points_where_q_is_thin():
    mu, logvar = random_codes(5, seed=13)
    logvar = logvar - 3.0  # narrow clouds, with room between them
    z = points(3000, seed=14, scale=1.0)
    share, se = aggregate.hole_share(mu, logvar, z, 0.1)
    # The same indicator from torch.distributions' densities, one point at a time.
    holes = [float(mixture(mu, logvar).log_prob(p) - standard_normal(p) < math.log(0.1)) for p in z]
    assert share == pytest.approx(sum(holes) / len(holes), abs=1e-12)
    assert 0.0 < share < 1.0
    expected_se = math.sqrt(share * (1 - share) / (len(holes) - 1))
    assert se == pytest.approx(expected_se, rel=1e-9)
    # q = p has no holes; a cloud far from every point is all hole.
    assert aggregate.hole_share(torch.zeros(1, 2), torch.zeros(1, 2), z, 0.1)[0] == 0.0
    assert aggregate.hole_share(mu + 50.0, logvar, z, 0.1)[0] == 1.0


def test_class_shares_are_mean_responsibilities():
    mu, logvar = random_codes(8, seed=15)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 2, 2])
    z = points(40, seed=16, scale=1.5)
    shares, se = aggregate.class_shares(z, mu, logvar, labels, 3)
    # The share of class c at a point: its components' density over the whole mixture's.
    per_point = torch.stack(
        [
            torch.stack(
                [mixture(mu[labels == c], logvar[labels == c]).log_prob(p) for c in range(3)]
            )
            .add(torch.log(torch.bincount(labels, minlength=3).double() / len(labels)))
            .softmax(0)
            for p in z
        ]
    )  # (S, C)
    torch.testing.assert_close(shares, per_point.mean(0))
    torch.testing.assert_close(se, per_point.std(0, correction=0) / math.sqrt(len(z)))
    assert shares.sum().item() == pytest.approx(1.0)


def test_class_shares_of_a_point_on_one_class_are_all_that_class():
    mu = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [3.0, 0.1]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 1])
    z = torch.tensor([[-3.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
    shares, se = aggregate.class_shares(z, mu, torch.zeros_like(mu), labels, 2)
    assert shares.tolist() == pytest.approx([0.5, 0.5], abs=1e-3)
    assert (se >= 0).all()


def test_nearest_neighbour_distances_match_a_dense_scan():
    z = points(60, seed=17).float()
    expected = [
        min(math.dist(z[i].tolist(), z[j].tolist()) for j in range(len(z)) if j != i)
        for i in range(len(z))
    ]
    actual = aggregate.nearest_neighbour_distances(z)
    assert actual.tolist() == pytest.approx(expected, rel=1e-6)


def test_mixture_density_is_exact_where_most_terms_underflow():
    # Narrow clouds far apart: at each point all but one term is below e^-700 of
    # the largest, where the exponential is floored; the density is still exact.
    mu = torch.tensor([[-40.0, 0.0], [0.0, 0.0], [40.0, 3.0]], dtype=torch.float64)
    logvar = torch.full_like(mu, math.log(0.01**2))
    z = torch.tensor([[0.01, -0.02], [39.9, 3.0], [-20.0, 0.0]], dtype=torch.float64)
    expected = mixture(mu, logvar).log_prob(z)
    torch.testing.assert_close(aggregate.mixture_log_density(z, mu, logvar), expected)
    assert torch.isfinite(aggregate.mixture_log_density(z, mu, logvar)).all()


def test_hole_indicators_are_the_points_where_q_is_thin():
    mu, logvar = random_codes(6, seed=18)
    z = points(200, seed=19)
    holes = aggregate.hole_indicators(mu, logvar, z, 0.2)
    log_ratio = mixture(mu, logvar).log_prob(z) - standard_normal(z)
    assert holes.tolist() == (log_ratio < math.log(0.2)).double().tolist()
    assert aggregate.hole_share(mu, logvar, z, 0.2)[0] == pytest.approx(float(holes.mean()))


def test_nearer_another_share_matches_a_scan_of_every_centre():
    mu, logvar = random_codes(40, seed=20)
    share, se = aggregate.nearer_another_share(mu, logvar, torch.Generator().manual_seed(21))
    # The same draws, one per example, and the nearest centre found one at a time.
    z = mu + torch.exp(0.5 * logvar) * torch.randn(
        mu.shape, generator=torch.Generator().manual_seed(21), dtype=mu.dtype
    )
    nearer = [
        min(math.dist(z[n].tolist(), mu[m].tolist()) for m in range(len(mu)) if m != n)
        < math.dist(z[n].tolist(), mu[n].tolist())
        for n in range(len(mu))
    ]
    assert share == pytest.approx(sum(nearer) / len(nearer))
    assert 0.0 < share < 1.0
    assert se == pytest.approx(math.sqrt(share * (1 - share) / (len(mu) - 1)))


def test_nearer_another_share_of_clouds_far_apart_or_on_top_of_each_other():
    generator = torch.Generator().manual_seed(22)
    apart = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=torch.float64)
    narrow = torch.full_like(apart, -10.0)
    assert aggregate.nearer_another_share(apart, narrow, generator)[0] == 0.0
    # Many clouds with one centre, less one point: nearly every draw is nearer another.
    crowded = torch.zeros((200, 2), dtype=torch.float64)
    crowded += 1e-3 * torch.randn(crowded.shape, generator=generator, dtype=torch.float64)
    share, _ = aggregate.nearer_another_share(crowded, torch.zeros_like(crowded), generator)
    assert share > 0.95


def test_average_ranks_share_the_ranks_of_ties():
    ranks = aggregate.average_ranks(torch.tensor([3.0, 1.0, 3.0, 2.0, 3.0]))
    assert ranks.tolist() == [3.0, 0.0, 3.0, 1.0, 3.0]


def test_rank_correlation_matches_scipy_with_and_without_ties():
    stats = pytest.importorskip("scipy.stats")
    generator = torch.Generator().manual_seed(23)
    a = torch.randn(30, generator=generator, dtype=torch.float64)
    b = a + torch.randn(30, generator=generator, dtype=torch.float64)
    tied = torch.round(2 * a) / 2  # many ties
    for x, y in ((a, b), (tied, b), (tied, torch.round(b))):
        expected = stats.spearmanr(x.numpy(), y.numpy()).statistic
        assert aggregate.rank_correlation(x, y) == pytest.approx(expected, abs=1e-12)
    assert aggregate.rank_correlation(a, torch.exp(a)) == pytest.approx(1.0)
    assert aggregate.rank_correlation(a, -a) == pytest.approx(-1.0)


def test_hole_indicators_take_a_learned_prior_as_its_log_density():
    mu, logvar = random_codes(6, seed=20)
    z = points(200, seed=21)
    prior = mixture(mu[:2] * 0.5, logvar[:2])  # any density other than N(0, I)
    log_prior = prior.log_prob(z)
    holes = aggregate.hole_indicators(mu, logvar, z, 0.2, log_prior)
    log_ratio = mixture(mu, logvar).log_prob(z) - log_prior
    assert holes.tolist() == (log_ratio < math.log(0.2)).double().tolist()
    assert holes.tolist() != aggregate.hole_indicators(mu, logvar, z, 0.2).tolist()


def test_unit_activity_is_the_variance_of_each_posterior_mean_over_the_examples():
    generator = torch.Generator().manual_seed(0)
    spreads = torch.tensor([0.0, 0.05, 1.0, 3.0])
    means = torch.randn(20_000, 4, generator=generator) * spreads + torch.tensor([5.0, 0, 0, -2])
    activity = aggregate.unit_activity(means)
    assert activity.dtype == torch.float64
    np.testing.assert_allclose(activity.numpy(), np.var(means.double().numpy(), axis=0))
    np.testing.assert_allclose(activity.numpy(), (spreads**2).numpy(), rtol=0.03, atol=1e-12)
    # a dimension whose mean never moves is inactive however far from 0 it sits
    active = (activity > aggregate.ACTIVE_UNIT).tolist()
    assert active == [False, False, True, True]
