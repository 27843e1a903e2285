r"""Gaussian approximations of a 2-D posterior, scored on the grid of `vae.exact`:
the ELBO of any Gaussian q(z|x), the best Gaussian for each example, and the
split of the gap between log p(x) and an encoder's ELBO into its two parts
(Cremer, Li & Duvenaud 2018, "Inference Suboptimality in Variational
Autoencoders", arXiv:1801.03558):

    log p(x) - ELBO(encoder's q) = [log p(x) - ELBO(best q)]          approximation gap
                                 + [ELBO(best q) - ELBO(encoder's q)]  amortization gap

Every expectation under q is a weighted sum over the fine cells of the grid,
so no decoder is evaluated here: the grid already holds log p(x, z).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from vae import objectives
from vae.exact import Grid, GridPosterior, posterior_moments, posterior_on_grid
from vae.models import LatentModel
from vae.posterior import peak_starts
from vae.stats import mean_and_se

DEFAULT_GRID = Grid()  # the grid of `vae.exact`'s defaults


def inclusive_kl(posterior: GridPosterior, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL(p(z|x) || q) for q = N(mu, diag e^logvar), by quadrature on the fine cells: (B,).

    $\mathrm{KL}(p \,\|\, q) = \mathbb{E}_{p(z \mid x)}[\log p(z \mid x) - \log q(z)]$, the
    direction the ELBO does not use: it is large wherever p has mass and q has
    little, so its best Gaussian spreads over every mode (see
    `vae.exact.posterior_moments`).
    """
    valid = torch.isfinite(posterior.log_joint)
    log_density = posterior.log_density.masked_fill(~valid, 0.0)
    log_q = objectives.gaussian_log_density(
        posterior.z, mu.double()[:, None], logvar.double()[:, None]
    )
    mass = torch.exp(posterior.log_density) * posterior.step**2  # (B, P), 0 on padding
    return (mass * (log_density - log_q.masked_fill(~valid, 0.0))).sum(dim=1)


def exclusive_kl(posterior: GridPosterior, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL(q || p(z|x)) for q = N(mu, diag e^logvar), on the grid: (B,).

    $\mathrm{KL}(q \,\|\, p) = \log p(x) - \mathrm{ELBO}(q)$, the direction the
    ELBO uses; see `grid_elbo` for when the grid holds q.
    """
    return posterior.log_px - grid_elbo(posterior, mu, logvar)


def _groups(posterior: GridPosterior, size: int = 64):
    """The examples in groups of similar numbers of fine points, padding trimmed.

    Yields (rows, part): the examples' indices and their `GridPosterior`. The fine
    points of each example come first in its row, so trimming is slicing.
    """
    counts = torch.isfinite(posterior.log_joint).sum(dim=1)
    for rows in torch.argsort(counts).split(size):
        width = int(counts[rows].max())
        yield rows, posterior.select(rows, width)


def _core(posterior: GridPosterior, threshold: float) -> GridPosterior:
    """Only the fine points within `threshold` nats of each example's highest log p(x, z)."""
    log_joint = posterior.log_joint
    keep = log_joint >= log_joint.max(dim=1, keepdim=True).values - threshold
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, : int(keep.sum(1).max())]
    return posterior._replace(
        z=torch.gather(posterior.z, 1, order[..., None].expand(-1, -1, 2)),
        log_joint=torch.gather(log_joint.masked_fill(~keep, -math.inf), 1, order),
    )


def _log_share(posterior: GridPosterior, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log Q_p: the Gaussian q restricted to the fine cells and normalised there: (B, P)."""
    log_q = objectives.gaussian_log_density(posterior.z, mu[:, None], logvar[:, None])
    log_q = log_q.masked_fill(~torch.isfinite(posterior.log_joint), -math.inf)
    return torch.log_softmax(log_q, dim=1)


def _elbo(posterior: GridPosterior, log_share: torch.Tensor) -> torch.Tensor:
    """sum_p Q_p [log p(x, z_p) + log h^2 - log Q_p], with padding contributing 0."""
    valid = torch.isfinite(posterior.log_joint)
    # Zeros in place of the padding's infinities keep values and gradients finite.
    log_joint = posterior.log_joint.masked_fill(~valid, 0.0)
    surprise = log_share.masked_fill(~valid, 0.0)
    log_area = 2 * math.log(posterior.step)
    return (torch.exp(log_share) * (log_joint + log_area - surprise)).sum(dim=1)


def grid_elbo(posterior: GridPosterior, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""The ELBO of q(z|x) = N(mu, diag e^logvar) per example, by quadrature on the grid.

    With Q_p the share of q on fine cell p (area $h^2$),
    $\mathrm{ELBO} = \sum_p Q_p [\log p(x, z_p) + \log h^2 - \log Q_p]$: the
    midpoint rule for $\mathbb{E}_q[\log p(x, z) - \log q(z)]$. It is never above
    the grid's log p(x), because their difference is the KL divergence between
    two distributions on the same cells. It needs q's mass to lie on the fine
    cells: pass q as `cover` to `posterior_on_grid`, and see `q_mass`.

    Args:
        posterior: the grid of `posterior_on_grid`.
        mu: means of q, shape (B, 2).
        logvar: log-variances of q, shape (B, 2).

    Returns:
        Tensor of shape (B,), float64, in nats.
    """
    mu, logvar = mu.double(), logvar.double()
    out = torch.empty(mu.shape[0], dtype=torch.float64, device=mu.device)
    for rows, part in _groups(posterior):
        out[rows] = _elbo(part, _log_share(part, mu[rows], logvar[rows]))
    return out


def q_mass(posterior: GridPosterior, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The share of q(z|x) that falls on the fine cells, by the midpoint rule: (B,)."""
    log_q = objectives.gaussian_log_density(
        posterior.z, mu.double()[:, None], logvar.double()[:, None]
    )
    log_q = log_q.masked_fill(~torch.isfinite(posterior.log_joint), -math.inf)
    return torch.exp(torch.logsumexp(log_q, dim=1) + 2 * math.log(posterior.step))


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
    for rows, part in _groups(posterior):
        part_starts = [(m.double()[rows], v.double()[rows]) for m, v in starts]
        mu[rows], logvar[rows], elbo[rows] = _fit(part, part_starts, steps, rate)
    return mu, logvar, elbo


class Gaps(NamedTuple):
    """The gap log p(x) - ELBO of an encoder, and its two parts, per example (nats)."""

    log_px: torch.Tensor  # (B,) log p(x) on the grid
    elbo: torch.Tensor  # (B,) ELBO of the encoder's q(z|x)
    best_elbo: torch.Tensor  # (B,) ELBO of the best Gaussian q for each example
    best_mu: torch.Tensor  # (B, 2) that best q
    best_logvar: torch.Tensor  # (B, 2)
    posterior: GridPosterior  # the grid they were computed on

    def summary(self) -> dict[str, tuple[float, float]]:
        """{name: (mean, standard error)} of log p(x), the ELBO, the gap and its parts."""
        parts = {
            "log_px": self.log_px,
            "elbo": self.elbo,
            "gap": self.gap,
            "approximation": self.approximation,
            "amortization": self.amortization,
        }
        return {k: mean_and_se(v) for k, v in parts.items()}

    @property
    def gap(self) -> torch.Tensor:
        """log p(x) - ELBO = KL(q(z|x) || p(z|x)) of the encoder's q."""
        return self.log_px - self.elbo

    @property
    def approximation(self) -> torch.Tensor:
        """log p(x) - ELBO(best q): what the Gaussian family cannot do."""
        return self.log_px - self.best_elbo

    @property
    def amortization(self) -> torch.Tensor:
        """ELBO(best q) - ELBO(encoder's q): what sharing one encoder costs."""
        return self.best_elbo - self.elbo


@torch.no_grad()
def inference_gaps(
    model: LatentModel,
    x: torch.Tensor,
    grid: Grid = DEFAULT_GRID,
    steps: int = 10,
    threshold: float = 12.0,
) -> Gaps:
    """log p(x), the encoder's ELBO and the best Gaussian's ELBO, on one grid.

    The split of Cremer, Li & Duvenaud (2018): the gap log p(x) - ELBO is the
    approximation gap, log p(x) - ELBO(best q), plus the amortization gap,
    ELBO(best q) - ELBO(encoder's q). The best q is fitted on the fine points
    within `threshold` nats of the posterior's highest density, starting from
    the posterior's moments and from each of its highest peaks (`vae.posterior.PEAK_STARTS`) (a
    global search: a start on one lobe only finds the best Gaussian on that
    lobe), then scored on the whole grid; the encoder's q is a candidate too.
    On the grid both parts are therefore >= 0 exactly.

    Args:
        model: a `vae.models.LatentModel` with a 2-D code and a Gaussian encoder.
        x: examples, shape (B, ...).
        grid: the integration grid.
        steps: natural-gradient steps from each start (see `best_gaussian`).
        threshold: nats below the highest posterior density that the fit sees.

    Returns:
        A `Gaps`.
    """
    encoded = model.encode(x)
    if encoded.logvar is None:
        raise ValueError("a deterministic encoder has no q(z|x): no ELBO to compare")
    mu, logvar = encoded.mu.double(), encoded.logvar.double()
    posterior = posterior_on_grid(model, x, grid, cover=(mu, logvar))
    elbo = grid_elbo(posterior, mu, logvar)
    core = _core(posterior, threshold)
    mean, var = posterior_moments(core)
    starts = [(mean, var.log()), *peak_starts(core, logvar)]
    best_mu, best_logvar, _ = best_gaussian(core, starts, steps)
    best_elbo = grid_elbo(posterior, best_mu, best_logvar)
    encoder_better = elbo > best_elbo
    return Gaps(
        log_px=posterior.log_px,
        elbo=elbo,
        best_elbo=torch.where(encoder_better, elbo, best_elbo),
        best_mu=torch.where(encoder_better[:, None], mu, best_mu),
        best_logvar=torch.where(encoder_better[:, None], logvar, best_logvar),
        posterior=posterior,
    )
