r"""Priors over a VQ-VAE's discrete codes, fitted after the VQ-VAE by counting.

A VQ-VAE trains with a uniform prior over its M code positions, each one of K
codebook vectors, and so samples codes from it. Its codes are far from uniform
and far from independent, which is why van den Oord et al. (2017) fit a second
model, a PixelCNN over the codes, and sample from that. Two simple second
models are fitted here in closed form, from the codes of the training images:

    independent   p(k) = prod_m p_m(k_m)                      (M tables of K)
    Markov        p(k) = p_1(k_1) prod_{m>1} p_m(k_m | k_{m-1})  (a chain over positions)

each by counts. The independent tables get add-`alpha` smoothing, so that a
code never seen in training keeps some probability. A transition table has K
times as many cells as there are codes to fill it, so each of its rows is
smoothed towards the next position's own frequencies instead, with a strength
(in pseudo-counts) chosen on held-out codes (`fit_markov`). Since the VQ-VAE's
q(k|x) is one code with probability one, its ELBO under a prior p is
$\log p(x \mid z_q) + \log p(k(x))$: a prior that gives the codes of test
images more probability raises the ELBO by exactly that much.
"""

from __future__ import annotations

import math

import torch

ALPHA = 1.0  # add-one (Laplace) smoothing of the counts


class UniformPrior:
    """Every code tuple equally likely: the prior the VQ-VAE trains with."""

    def __init__(self, positions: int, size: int) -> None:
        self.positions, self.size = positions, size

    def log_prob(self, codes: torch.Tensor) -> torch.Tensor:
        """log p of each code tuple, codes of shape (N, M): (N,)."""
        return torch.full((codes.shape[0],), -self.positions * math.log(self.size))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n code tuples: (n, M)."""
        return torch.randint(self.size, (n, self.positions), generator=generator)


class IndependentPrior:
    """Each position its own categorical distribution, fitted by counting."""

    def __init__(self, codes: torch.Tensor, size: int, alpha: float = ALPHA) -> None:
        counts = torch.stack([torch.bincount(c, minlength=size) for c in codes.T]).double()
        self.log_p = torch.log((counts + alpha) / (counts + alpha).sum(1, keepdim=True))  # (M, K)

    def log_prob(self, codes: torch.Tensor) -> torch.Tensor:
        """log p of each code tuple, codes of shape (N, M): (N,)."""
        return self.log_p.gather(1, codes.T).sum(0)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n code tuples: (n, M)."""
        draws = [torch.multinomial(p.exp(), n, True, generator=generator) for p in self.log_p]
        return torch.stack(draws, dim=1)


class MarkovPrior:
    """A chain over the positions: the first code's distribution, then each
    position's code given the one before, fitted by counting; each row of
    counts gets `strength` pseudo-counts spread as the next position's own
    (add-`alpha` smoothed) frequencies."""

    def __init__(
        self, codes: torch.Tensor, size: int, strength: float, alpha: float = ALPHA
    ) -> None:
        marginal = IndependentPrior(codes, size, alpha).log_p.exp()  # (M, K)
        self.log_first = marginal[0].log()  # (K,)
        pairs = codes[:, :-1] * size + codes[:, 1:]  # (N, M - 1): previous and next, one index
        counts = torch.stack([torch.bincount(p, minlength=size * size) for p in pairs.T])
        counts = counts.double().view(-1, size, size) + strength * marginal[1:, None, :]
        self.log_next = torch.log(counts / counts.sum(2, keepdim=True))  # (M - 1, K, K)

    def log_prob(self, codes: torch.Tensor) -> torch.Tensor:
        """log p of each code tuple, codes of shape (N, M): (N,)."""
        steps = torch.arange(self.log_next.shape[0])
        transitions = self.log_next[steps, codes[:, :-1], codes[:, 1:]]  # (N, M - 1)
        return self.log_first[codes[:, 0]] + transitions.sum(1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n code tuples, position by position: (n, M)."""
        codes = [torch.multinomial(self.log_first.exp(), n, True, generator=generator)]
        for table in self.log_next:
            codes.append(torch.multinomial(table[codes[-1]].exp(), 1, generator=generator)[:, 0])
        return torch.stack(codes, dim=1)


def fit_markov(
    codes: torch.Tensor,
    size: int,
    strengths: tuple[float, ...],
    held_out: float,
    generator: torch.Generator,
) -> tuple[MarkovPrior, float]:
    """The Markov prior whose smoothing strength, of `strengths`, gives the
    `held_out` share of the codes (drawn at random) the most probability when
    fitted to the rest; refitted to all the codes with that strength."""
    order = torch.randperm(len(codes), generator=generator)
    cut = round(held_out * len(codes))
    test, train = codes[order[:cut]], codes[order[cut:]]
    scores = [MarkovPrior(train, size, s).log_prob(test).mean().item() for s in strengths]
    best = strengths[max(range(len(strengths)), key=scores.__getitem__)]
    return MarkovPrior(codes, size, best), best
