r"""The importance-weighted bounds $\mathcal{L}_k$ of a model, drawn many times and
set against log p(x): how much of the ELBO's gap k samples recover.

$\mathcal{L}_k$ (`vae.objectives.iwae_bound`) is a random variable whose mean
rises with k towards log p(x) (Burda, Grosse & Salakhutdinov 2015, "Importance
Weighted Autoencoders", arXiv:1509.00519). With log p(x) known, from
`vae.exact` for a 2-D code, the shortfall log p(x) - L_k is measured directly,
with a standard error from independent draws.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from vae.models import LatentModel
from vae.objectives import mean_iwae_bound


def sample_log_weights(
    model: LatentModel, x: torch.Tensor, k: int, seed: int, codes: int = 50_000
) -> torch.Tensor:
    """k log-weights log p(x, z) - log q(z|x), z ~ q(z|x), per example: (k, N), float64.

    The examples are taken a group at a time, so that no more than about `codes`
    codes are decoded at once; the draws depend on `seed` and on that grouping.
    """
    generator = torch.Generator().manual_seed(seed)
    step = max(1, codes // k)  # examples per group
    with torch.no_grad():
        parts = [model.log_weights(x[i : i + step], k, generator) for i in range(0, len(x), step)]
    return torch.cat(parts, dim=1).double()


class Shortfall(NamedTuple):
    """log p(x) - L_k for several k, over the columns of a set of log-weights."""

    bounds: torch.Tensor  # (len(ks), M): L_k of each column
    gap: torch.Tensor  # (len(ks),): the mean of log p(x) - L_k over the columns
    se: torch.Tensor  # (len(ks),): its standard error


def shortfall(
    log_px: torch.Tensor | float, log_weights: torch.Tensor, ks: tuple[int, ...]
) -> Shortfall:
    """How far L_k falls below log p(x) for each k in ks, with its standard error.

    Each column of `log_weights` is one example (or one independent set of
    draws for the same example); its L_k is averaged over the disjoint blocks of
    k of its log-weights (`vae.objectives.mean_iwae_bound`), and the columns are
    independent, so the standard error is their spread over sqrt(M).

    Args:
        log_px: log p(x) of each column's example, shape (M,), or one value for all.
        log_weights: shape (K, M), K a multiple of every k.
        ks: the numbers of samples per bound.
    """
    bounds = torch.stack([mean_iwae_bound(log_weights, k) for k in ks])  # (len(ks), M)
    remaining = log_px - bounds
    return Shortfall(bounds, remaining.mean(1), remaining.std(1) / math.sqrt(bounds.shape[1]))


# Rounding on the grid: a gap part this far below zero is still zero.
GAP_TOLERANCE = 1e-3


def check_bounds(log_px_minus_bounds: Shortfall, ses: float = 3.0) -> None:
    """Raises ValueError if a mean L_k lies above log p(x) by more than `ses`
    standard errors: a bound above the value it bounds is a bug, not noise."""
    above = log_px_minus_bounds.gap < -ses * log_px_minus_bounds.se
    if above.any():
        raise ValueError(
            "L_k above log p(x) beyond Monte Carlo error: log p(x) - L_k = "
            f"{log_px_minus_bounds.gap.tolist()} ± {log_px_minus_bounds.se.tolist()}"
        )


def check_gap_split(
    approximation: torch.Tensor, amortization: torch.Tensor, tolerance: float = GAP_TOLERANCE
) -> None:
    """Raises ValueError unless, for every example, the approximation gap and the
    amortization gap are both at least zero, so that neither exceeds the whole gap."""
    for name, part in (("approximation", approximation), ("amortization", amortization)):
        if (part < -tolerance).any():
            worst = int(part.argmin())
            raise ValueError(
                f"the {name} gap of example {worst} is {part[worst].item():.4g} nats, below zero:"
                " the best Gaussian was not found"
            )
