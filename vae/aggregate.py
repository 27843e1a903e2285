r"""The aggregate posterior of a Gaussian encoder, and the split of its KL term.

The aggregate posterior is the mixture of every example's q(z|x):

    $q(z) = \frac1N \sum_n \mathcal{N}(z; \mu_n, \operatorname{diag} \sigma_n^2)$,

the cloud of all codes that the decoder is trained on. Where it is thin beside
the prior p(z), codes drawn from the prior decode to something the decoder
hardly saw ("holes"). The average KL term of the ELBO splits exactly as
(Hoffman & Johnson 2016, "ELBO surgery: yet another way to carve up the
variational evidence lower bound")

    $\frac1N \sum_n \mathrm{KL}(q(z \mid x_n) \,\|\, p(z))
    = I(n; z) + \mathrm{KL}(q(z) \,\|\, p(z))$,

where I(n; z), the mutual information between the index of an example and its
code under the mixture, is at most log N.

Beside the split: q(z) averaged over the cells of a grid, to draw it; the
holes, where q(z) is thin beside p(z); each class's share of q at given codes;
how often a code drawn from an example's own q(z|x) lies nearer another
example's mean; and Spearman's rank correlation, for relations between such
numbers across classes.
"""

from __future__ import annotations

import math

import torch

from vae import objectives
from vae.models import reparameterize
from vae.stats import mean_and_se

# Points per block when a density is taken at many points. A block's (CHUNK, N)
# tensors of a few thousand components stay small enough for the allocator to
# reuse their memory instead of asking the system for fresh pages each time.
CHUNK = 512
EXP_FLOOR = 700.0  # log-weights further below their maximum count as this far (e^-700 ~ 1e-304)


def component_log_densities(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    r"""log N(z_s; mu_n, diag e^logvar_n) for every point s and component n: shape (S, N).

    The square expanded, $-(z - \mu)^2 / 2\sigma^2 = -z^2 w / 2 + z \mu w - \mu^2 w / 2$
    with $w = 1 / \sigma^2$, turns the sum over coordinates into one matrix
    product, of the features $(z^2, z, 1)$ of the points with the coefficients
    $(-w / 2, \mu w, c)$ of the components; `objectives.gaussian_log_density`
    would build an (S, N, D) tensor, and two products with their sum take
    several times as long as one.

    Args:
        z: points, shape (S, D).
        mu: the components' means, shape (N, D).
        logvar: their log-variances, shape (N, D).
    """
    w = torch.exp(-logvar)  # (N, D)
    constant = -0.5 * (objectives.LOG_2PI + logvar + mu.square() * w).sum(dim=1)  # (N,)
    features = torch.cat([z.square(), z, torch.ones_like(z[:, :1])], dim=1)  # (S, 2D + 1)
    coefficients = torch.cat([-0.5 * w, mu * w, constant[:, None]], dim=1)  # (N, 2D + 1)
    return features @ coefficients.T


def shifted_exp_(log_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """exp(log_w - m), computed in place of log_w (S, N), and m, each row's maximum (S,).

    Terms more than EXP_FLOOR below their row's maximum are raised to it before
    the exponential: they would underflow to zero anyway, and on a CPU an
    exponential that underflows takes several times as long as one that does
    not (narrow components far from a point are most of an aggregate posterior's
    terms). The change to a row's sum is under N e^-EXP_FLOOR of its largest term.
    """
    m = log_w.amax(dim=1, keepdim=True)
    return log_w.sub_(m).clamp_(min=-EXP_FLOOR).exp_(), m[:, 0]


def mixture_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log q(z) = log (1/N) sum_n N(z; mu_n, diag e^logvar_n) at points z (S, D): shape (S,)."""
    log_q = []
    for block in z.split(CHUNK):
        weights, m = shifted_exp_(component_log_densities(block, mu, logvar))  # logsumexp
        log_q.append(weights.sum(dim=1).log_() + m - math.log(mu.shape[0]))
    return torch.cat(log_q)


def mixture_cell_density(
    edges: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    r"""The mean of a 2-D q(z) over each cell of a grid: its mass in the cell over the cell's area.

    A diagonal Gaussian's mass in a cell is a product of masses along the axes,
    $\Phi((b - \mu) / \sigma) - \Phi((a - \mu) / \sigma)$ between the cell's edges
    a and b, so the mixture's masses on all cells are one matrix product. Unlike
    q(z) at the cells' centres, the mean over a cell misses no component narrower
    than a cell that falls between two centres.

    Args:
        edges: the cells' edges along each axis, ascending: shape (G + 1,).
        mu: the components' means, shape (N, 2).
        logvar: their log-variances, shape (N, 2).

    Returns:
        Shape (G, G): rows along z_2, the first at the lowest z_2; columns along z_1.
    """
    sd = torch.exp(0.5 * logvar)
    cdf = torch.special.ndtr((edges[None, :, None] - mu[:, None, :]) / sd[:, None, :])
    mass = cdf.diff(dim=1)  # (N, G, 2): each component's mass between the edges, per axis
    width = edges.diff()
    return mass[..., 1].T @ mass[..., 0] / (mu.shape[0] * width[:, None] * width[None, :])


def elbo_surgery(
    mu: torch.Tensor, logvar: torch.Tensor, samples_per_code: int, generator: torch.Generator
) -> dict[str, float]:
    """The split mean KL = I(n; z) + KL(q(z) || p(z)) for the mixture of N(mu_n, e^logvar_n).

    The average KL is in closed form. The mutual information is estimated from
    its definition, I = mean_n E_{z ~ q(z|x_n)}[log q(z|x_n) - log q(z)], with
    `samples_per_code` draws from each example's Gaussian: the difference inside
    lies between 0 and log N up to rounding, so the estimate has a small
    variance. KL(q(z) || p(z)) is the average KL minus it.

    Args:
        mu: means of q(z|x_n), shape (N, D).
        logvar: their log-variances, shape (N, D).
        samples_per_code: draws from each q(z|x_n).
        generator: the source of the draws.

    Returns:
        In nats: average_kl (exact), mutual_information, marginal_kl, the
        standard error of both estimates (the same number), and the upper bound
        log N of the first, mutual_information_max.
    """
    mu, logvar = mu.double(), logvar.double()
    n, d = mu.shape
    average_kl = float(objectives.gaussian_kl(mu, logvar).mean())
    shape = (samples_per_code, n, d)
    z = reparameterize(mu.expand(shape), logvar.expand(shape), generator)  # (S, N, D)
    own = objectives.gaussian_log_density(z, mu, logvar)  # log q(z|x_n), (S, N)
    marginal = mixture_log_density(z.reshape(-1, d), mu, logvar).view(samples_per_code, n)
    values = own - marginal  # (S, N)
    information = float(values.mean())
    # Each example contributes a mean of samples_per_code independent draws; the
    # estimate is the average of N such means, so its variance is the mean of the
    # examples' variances over samples_per_code * N.
    within = values.var(dim=0) if samples_per_code > 1 else torch.zeros(n)
    standard_error = math.sqrt(float(within.mean()) / (samples_per_code * n))
    return {
        "average_kl": average_kl,
        "mutual_information": information,
        "marginal_kl": average_kl - information,
        "standard_error": standard_error,
        "mutual_information_max": math.log(n),
    }


def hole_indicators(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    z: torch.Tensor,
    ratio: float,
    log_prior: torch.Tensor | None = None,
) -> torch.Tensor:
    """1.0 at each point z where q(z) is below `ratio` times p(z), else 0.0: (S,).

    With z drawn from p(z), these are the prior's codes that land where the
    decoder saw few codes in training.

    Args:
        mu: means of q(z|x_n), shape (N, D).
        logvar: their log-variances, shape (N, D).
        z: points, shape (S, D).
        ratio: the density ratio q(z) / p(z) below which a point is in a hole.
        log_prior: log p(z) at each point, (S,), for a learned prior; None for N(0, I).
    """
    z = z.double()
    log_ratio = mixture_log_density(z, mu.double(), logvar.double())
    log_ratio -= objectives.gaussian_log_density(z) if log_prior is None else log_prior.double()
    return (log_ratio < math.log(ratio)).double()


def hole_share(
    mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor, ratio: float
) -> tuple[float, float]:
    """The share of points z in holes (`hole_indicators`), and its standard error."""
    return mean_and_se(hole_indicators(mu, logvar, z, ratio))


def class_shares(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, labels: torch.Tensor, classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each class's share of q(z), averaged over the points z, and its standard error.

    A class's share of q at a point is the sum over its examples of
    N(z; mu_n, diag e^logvar_n) over the sum over all examples: the posterior
    probability of the class given the code, under the mixture.

    Args:
        z: points, shape (S, D).
        mu: means of q(z|x_n), shape (N, D).
        logvar: their log-variances, shape (N, D).
        labels: the class of each example, shape (N,).
        classes: the number of classes C.

    Returns:
        Two tensors of shape (C,), float64.
    """
    one_hot = torch.nn.functional.one_hot(labels, classes).double()  # (N, C)
    shares = []
    for block in z.double().split(CHUNK):
        log_w = component_log_densities(block, mu.double(), logvar.double())  # (S, N)
        weights, _ = shifted_exp_(log_w)  # softmax
        shares.append((weights / weights.sum(dim=1, keepdim=True)) @ one_hot)  # (S, C)
    per_point = torch.cat(shares)
    spread = per_point.std(dim=0, correction=0) / math.sqrt(len(per_point))
    return per_point.mean(dim=0), spread


ACTIVE_UNIT = 1e-2  # Burda et al.'s threshold: a dimension whose activity exceeds it is active


def unit_activity(means: torch.Tensor) -> torch.Tensor:
    r"""Each code dimension's activity, $A_u = \operatorname{Var}_x \mathbb{E}_{q(z \mid x)}[z_u]$:
    how much the posterior mean of dimension u moves from one example to the next
    (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders",
    section 5.2). A dimension whose mean stays put tells the decoder nothing about
    which example it decodes; Burda et al. call it active when $A_u > 10^{-2}$.

    Args:
        means: E_q[z] of each example, shape (N, D).

    Returns:
        Tensor of shape (D,), float64: the variance over the N examples.
    """
    return means.double().var(dim=0, correction=0)


def nearest_neighbour_distances(z: torch.Tensor) -> torch.Tensor:
    """The distance from each point z_n (N, D) to the nearest other point: (N,).

    Every pair is taken, N^2 distances: no approximation, for a few thousand points.
    """
    # Each distance from its own differences, as in `nearer_another_share`.
    distances = torch.cdist(z, z, compute_mode="donot_use_mm_for_euclid_dist")  # (N, N)
    distances.fill_diagonal_(math.inf)
    return distances.min(dim=1).values


def nearer_another_share(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator
) -> tuple[float, float]:
    """The share of codes, one z ~ q(z|x_n) per example, that lie nearer another
    example's mean mu_m than their own mu_n, and its standard error.

    Args:
        mu: means of q(z|x_n), shape (N, D).
        logvar: their log-variances, shape (N, D).
        generator: the source of the draws.
    """
    mu = mu.double()
    z = reparameterize(mu, logvar.double(), generator)  # (N, D)
    nearer = []
    for start, block in zip(range(0, len(z), CHUNK), z.split(CHUNK), strict=True):
        # Each distance computed from its own differences, not |z|^2 - 2 z.mu + |mu|^2,
        # which rounds away the gap between two near neighbours.
        distances = torch.cdist(block, mu, compute_mode="donot_use_mm_for_euclid_dist")
        rows = torch.arange(len(block))
        own = distances[rows, start + rows].clone()
        distances[rows, start + rows] = math.inf
        nearer.append(distances.min(dim=1).values < own)
    return mean_and_se(torch.cat(nearer).double())


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """The rank of each value from 0, tied values sharing the mean of their ranks: (N,)."""
    values = values.double()
    _, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    first = torch.cumsum(counts, 0) - counts  # the rank of the first of each distinct value
    return (first + (counts - 1) / 2).double()[inverse]


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two 1-D tensors: Pearson's correlation of
    their `average_ranks`."""
    ranks = torch.stack([average_ranks(a), average_ranks(b)])
    return float(torch.corrcoef(ranks)[0, 1])
