"""Straight lines through a code space (`vae.paths`) against torch.distributions'
mixture, scans of every pair and every point, and torch's cosine similarity."""

import math

import pytest
import torch
from torch import distributions as dist

from vae import paths


def mixture(mu, logvar):
    components = dist.Independent(dist.Normal(mu, torch.exp(0.5 * logvar)), 1)
    weights = dist.Categorical(torch.ones(mu.shape[0], dtype=mu.dtype))
    return dist.MixtureSameFamily(weights, components)


def log_ratio(z, mu, logvar):
    """log q(z) - log N(z; 0, I), from torch.distributions."""
    prior = dist.Independent(dist.Normal(torch.zeros_like(z), 1.0), 1)
    return mixture(mu, logvar).log_prob(z) - prior.log_prob(z)


def two_clusters():
    """A mixture of two tight clusters of narrow clouds, with an empty gap between."""
    generator = torch.Generator().manual_seed(0)
    left = torch.tensor([-2.0, 0.0]) + 0.2 * torch.randn((20, 2), generator=generator)
    right = torch.tensor([2.0, 0.0]) + 0.2 * torch.randn((20, 2), generator=generator)
    mu = torch.cat([left, right]).double()
    return mu, torch.full_like(mu, math.log(0.1**2))


def test_segment_runs_evenly_from_end_to_end():
    a, b = torch.tensor([1.0, -1.0]), torch.tensor([3.0, 2.0])
    line = paths.segment(a, b, 5)
    assert line.shape == (5, 2)
    torch.testing.assert_close(line[0], a)
    torch.testing.assert_close(line[-1], b)
    steps = line.diff(dim=0)
    torch.testing.assert_close(steps, steps[:1].expand_as(steps))


def test_lowest_log_ratio_matches_a_scan_with_torch_distributions():
    mu, logvar = two_clusters()
    line = paths.segment(torch.tensor([-2.0, 0.0]), torch.tensor([2.0, 0.5]), 41).double()
    lowest, index = paths.lowest_log_ratio(line, mu, logvar)
    expected = log_ratio(line, mu, logvar)
    assert lowest == pytest.approx(float(expected.min()), rel=1e-9)
    assert index == int(expected.argmin())
    assert abs(float(line[index, 0])) < 1.0  # in the gap between the clusters


def test_deepest_crossing_is_the_line_across_the_gap():
    mu, logvar = two_clusters()
    ends = torch.tensor([[-2.1, 0.1], [-1.9, -0.1], [2.0, 0.0], [2.1, 0.2]], dtype=torch.float64)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    pair, lowest = paths.deepest_crossing(ends, pairs, mu, logvar, probes=60)
    # Every pair by brute force: the lowest ratio on its line.
    scanned = {
        (i, j): float(log_ratio(paths.segment(ends[i], ends[j], 60), mu, logvar).min())
        for i, j in pairs
    }
    assert pair == min(scanned, key=scanned.get)
    assert lowest == pytest.approx(scanned[pair], rel=1e-9)
    assert pair[0] in (0, 1) and pair[1] in (2, 3)  # it crosses from one cluster to the other


def test_nearest_cosine_distance_matches_a_scan_and_ignores_the_amount_of_ink():
    generator = torch.Generator().manual_seed(1)
    references = torch.rand((30, 4, 4), generator=generator, dtype=torch.float64)
    images = torch.rand((7, 4, 4), generator=generator, dtype=torch.float64)
    expected = [
        1 - max(float(torch.cosine_similarity(x.flatten(), r.flatten(), dim=0)) for r in references)
        for x in images
    ]
    actual = paths.nearest_cosine_distance(images, references)
    assert actual.tolist() == pytest.approx(expected, abs=1e-12)
    # A fainter or bolder copy is as far; a copy of a reference is at distance 0.
    torch.testing.assert_close(paths.nearest_cosine_distance(0.3 * images, references), actual)
    torch.testing.assert_close(paths.nearest_cosine_distance(2.0 * images, references), actual)
    assert paths.nearest_cosine_distance(references[3:4] * 0.5, references).item() == (
        pytest.approx(0.0, abs=1e-12)
    )
