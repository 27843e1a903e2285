r"""The best diagonal Gaussian q for each example of a 2-D posterior on the grid
of `vae.exact`: natural-gradient steps for Gaussian variational inference
(Opper & Archambeau 2009; Khan & Lin 2017), each expectation under q a weighted
sum over the grid's fine cells, so no decoder is evaluated here.

It is the best q of the family in the sense of Cremer, Li & Duvenaud (2018),
"Inference Suboptimality in Variational Autoencoders", arXiv:1801.03558, which
`vae.gaps` sets against an encoder's q.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from vae.exact import GridPosterior


def groups(posterior: GridPosterior, size: int = 64):
    """The examples in groups of similar numbers of fine points, padding trimmed.

    Yields (rows, part): the examples' indices and their `GridPosterior`. The fine
    points of each example come first in its row, so trimming is slicing.
    """
    counts = torch.isfinite(posterior.log_joint).sum(dim=1)
    for rows in torch.argsort(counts).split(size):
        width = int(counts[rows].max())
        yield rows, posterior.select(rows, width)


def _fit(
    posterior: GridPosterior,
    starts: Sequence[tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    rate: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`best_gaussian` for the examples of one group.

    Every quantity a step needs is a q-weighted sum of ten fixed features of
    the cells (1, z_j, z_j^2 and the same times log p(x, z)), so a step is two
    batched matrix products. Centring z at the mode and log p(x, z) at its
    maximum keeps float32 accurate.
    """
    valid = torch.isfinite(posterior.log_joint)
    peak = posterior.log_joint.max(dim=1, keepdim=True).values  # (B, 1)
    log_joint = (posterior.log_joint - peak).masked_fill(~valid, 0.0)
    origin = posterior.mode  # (B, 2)
    z = (posterior.z - origin[:, None]).masked_fill(~valid[..., None], 0.0)
    ones = valid.to(z.dtype)
    powers = torch.stack([ones, z[..., 0], z[..., 1], z[..., 0].square(), z[..., 1].square()], -1)
    features = torch.cat([powers, log_joint[..., None] * powers], dim=-1)
    features = features.transpose(1, 2).float().contiguous()  # (B, 10, P)
    ones = ones.float()
    log_area = 2 * math.log(posterior.step)
    floor = math.log((posterior.step / 2) ** 2)  # q stays wider than the cells resolve
    best: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    for start_mu, start_logvar in starts:
        mu, logvar = start_mu - origin, start_logvar
        for step in range(steps + 1):
            var = torch.exp(logvar)  # (B, 2)
            # log q(z) = -1/2 sum_j (z_j^2 - 2 mu_j z_j + mu_j^2) / var_j, up to a
            # constant that the normalisation over the cells removes: the square
            # expanded, rather than `objectives.gaussian_log_density`, so that a
            # step is a matrix product with the fixed features.
            coefficients = torch.cat(
                [-0.5 * (mu.square() / var).sum(1, keepdim=True), mu / var, -0.5 / var], dim=1
            )
            log_q = (coefficients.float()[:, None] @ features[:, :5])[:, 0]  # (B, P)
            top = log_q.masked_fill(~valid, -math.inf).max(dim=1, keepdim=True).values
            share = torch.exp(log_q - top) * ones  # padding gets no share
            total = share.sum(dim=1, keepdim=True)
            share = share / total
            normaliser = (top + torch.log(total))[:, 0].double()  # log of the sum of q
            sums = (features @ share[..., None])[..., 0].double()  # (B, 10): E_Q of each
            z1, z2, l0, lz1, lz2 = (
                sums[:, 1:3],
                sums[:, 3:5],
                sums[:, 5:6],
                sums[:, 6:8],
                sums[:, 8:],
            )
            d1 = z1 - mu  # E_Q[z - mu]
            d2 = z2 - 2 * mu * z1 + mu.square()  # E_Q[(z - mu)^2]
            # ELBO = E_Q[log p(x, z)] + log h^2 - E_Q[log Q], Q = q / sum of q on the cells.
            elbo = l0[:, 0] + peak[:, 0] + log_area + 0.5 * (d2 / var).sum(1) + normaliser
            if best is None:
                best = (mu + origin, logvar, elbo)
            else:
                better = elbo > best[2]
                best = (
                    torch.where(better[:, None], mu + origin, best[0]),
                    torch.where(better[:, None], logvar, best[1]),
                    torch.where(better, elbo, best[2]),
                )
            if step == steps:
                break
            # Stein's identity: E_q[grad l] = E_q[(z - mu) l] / var and
            # E_q[d^2 l / dz_j^2] = E_q[((z_j - mu_j)^2 - var_j) l] / var_j^2, with
            # l centred by its mean under q (which removes the var_j term).
            l_d1 = lz1 - mu * l0 - l0 * d1
            l_d2 = lz2 - 2 * mu * lz1 + mu.square() * l0 - l0 * d2
            gradient, curvature = l_d1 / var, l_d2 / var.square()
            inverse_var = (1 - rate) / var - rate * curvature  # the new 1 / sigma^2
            inverse_var = torch.maximum(inverse_var, 0.25 / var)  # sigma at most doubles
            logvar = torch.clamp(-torch.log(inverse_var), min=floor)
            mu = mu + rate * gradient * torch.exp(logvar)
    if best is None:
        raise ValueError("best_gaussian needs at least one start")
    return best


@torch.no_grad()
def best_gaussian(
    posterior: GridPosterior,
    starts: Sequence[tuple[torch.Tensor, torch.Tensor]],
    steps: int = 15,
    rate: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The diagonal Gaussian q with the highest ELBO, for each example separately.

    From each start (mu, logvar), natural-gradient steps for Gaussian
    variational inference (Opper & Archambeau 2009; Khan & Lin 2017) move q
    towards the point where $\mathbb{E}_q[\nabla \log p(x, z)] = 0$ and
    $1/\sigma_j^2 = -\mathbb{E}_q[\partial^2_j \log p(x, z)]$; both expectations
    come from the grid through Stein's identity, without derivatives of the
    decoder. With rate 1 this is Newton's method, exact in one step when the
    posterior is Gaussian. Every q visited is scored by the grid's ELBO and each
    example keeps its best, so the result is never worse than any start. A
    posterior with two modes has a local optimum near each; `inference_gaps`
    starts from the posterior's moments and from each of its highest peaks
    (`vae.posterior.peak_starts`). This is the best q
    of the family in the sense of Cremer, Li & Duvenaud (2018), fitted to each
    example on its own.

    Args:
        posterior: the grid of `posterior_on_grid`.
        starts: pairs (mu, logvar), each of shape (B, 2), to start from.
        steps: natural-gradient steps from each start.
        rate: step size in (0, 1].

    Returns:
        mu, logvar and the ELBO of the best q found: shapes (B, 2), (B, 2), (B,).
    """
    batch = posterior.log_px.shape[0]
    mu = torch.empty(batch, 2, dtype=torch.float64, device=posterior.z.device)
    logvar, elbo = torch.empty_like(mu), torch.empty_like(mu[:, 0])
    for rows, part in groups(posterior):
        part_starts = [(m.double()[rows], v.double()[rows]) for m, v in starts]
        mu[rows], logvar[rows], elbo[rows] = _fit(part, part_starts, steps, rate)
    return mu, logvar, elbo
