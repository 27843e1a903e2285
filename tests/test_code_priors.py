"""Priors over a VQ-VAE's codes (`vae.code_priors`): each is a distribution (its
probabilities over every code tuple sum to one), fitted as the smoothed counts
say, and sampled as its probabilities say."""

import itertools
import math

import pytest
import torch

from vae.code_priors import IndependentPrior, MarkovPrior, UniformPrior, fit_markov

K, M = 3, 3


@pytest.fixture
def codes():
    generator = torch.Generator().manual_seed(0)
    first = torch.randint(K, (200,), generator=generator)
    # Each next code copies the last one two times in three: positions depend.
    rest = [first]
    for _ in range(M - 1):
        keep = torch.rand(200, generator=generator) < 2 / 3
        rest.append(torch.where(keep, rest[-1], torch.randint(K, (200,), generator=generator)))
    return torch.stack(rest, dim=1)


def every_tuple():
    return torch.tensor(list(itertools.product(range(K), repeat=M)))


@pytest.mark.parametrize("make", [lambda c: UniformPrior(M, K), lambda c: IndependentPrior(c, K),
                                  lambda c: MarkovPrior(c, K, 2.0)])  # fmt: skip
def test_each_prior_sums_to_one_over_every_code_tuple(codes, make):
    prior = make(codes)
    assert torch.logsumexp(prior.log_prob(every_tuple()), 0).item() == pytest.approx(0, abs=1e-12)


def test_the_independent_prior_is_the_smoothed_frequency_of_each_position(codes):
    prior = IndependentPrior(codes, K, alpha=1.0)
    for m in range(M):
        count = int((codes[:, m] == 2).sum())
        assert prior.log_p[m, 2].exp().item() == pytest.approx((count + 1) / (len(codes) + K))


def test_the_markov_prior_smooths_each_step_towards_the_next_positions_frequency(codes):
    prior = MarkovPrior(codes, K, strength=5.0, alpha=1.0)
    before = codes[:, 0] == 1
    count = int((codes[before, 1] == 1).sum())
    marginal = (int((codes[:, 1] == 1).sum()) + 1) / (len(codes) + K)
    expected = (count + 5.0 * marginal) / (int(before.sum()) + 5.0)
    assert prior.log_next[0, 1, 1].exp().item() == pytest.approx(expected)
    # Codes that depend on each other are likelier under the chain than under independence.
    chain = MarkovPrior(codes, K, 2.0).log_prob(codes).mean()
    assert chain > IndependentPrior(codes, K).log_prob(codes).mean()


def test_fit_markov_picks_the_strength_that_best_predicts_held_out_codes(codes):
    strengths = (0.5, 5.0, 1e6)
    prior, best = fit_markov(codes, K, strengths, 0.25, torch.Generator().manual_seed(3))
    order = torch.randperm(len(codes), generator=torch.Generator().manual_seed(3))
    test, train = codes[order[:50]], codes[order[50:]]
    scores = {s: MarkovPrior(train, K, s).log_prob(test).mean() for s in strengths}
    assert best == max(scores, key=scores.get)
    assert best != 1e6  # the positions depend on each other: not the independent prior
    torch.testing.assert_close(prior.log_next, MarkovPrior(codes, K, best).log_next)


@pytest.mark.parametrize(
    "make", [lambda c: IndependentPrior(c, K), lambda c: MarkovPrior(c, K, 2.0)]
)
def test_samples_follow_the_priors_probabilities(codes, make):
    prior = make(codes)
    draws = prior.sample(40_000, torch.Generator().manual_seed(1))
    tuples = every_tuple()
    expected = prior.log_prob(tuples).exp()
    index = (draws * torch.tensor([K * K, K, 1])).sum(1)
    observed = torch.bincount(index, minlength=K**M).double() / len(draws)
    torch.testing.assert_close(observed, expected, atol=0.01, rtol=0)


def test_the_uniform_prior_gives_every_tuple_m_log_k():
    prior = UniformPrior(M, K)
    assert prior.log_prob(every_tuple()).unique().item() == pytest.approx(-M * math.log(K))
    assert prior.sample(5, torch.Generator().manual_seed(0)).shape == (5, M)
