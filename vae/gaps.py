r"""Gaussian approximations of a 2-D posterior, scored on the grid of `vae.exact`:
the ELBO of any Gaussian q(z|x), the best Gaussian for each example, and the
split of the gap between log p(x) and an encoder's ELBO into its two parts
(Cremer, Li & Duvenaud 2018, "Inference Suboptimality in Variational
Autoencoders", arXiv:1801.03558):

    log p(x) - ELBO(encoder's q) = [log p(x) - ELBO(best q)]          approximation gap
                                 + [ELBO(best q) - ELBO(encoder's q)]  amortization gap

Every expectation under q is a weighted sum over the fine cells of the grid,
so no decoder is evaluated here: the grid already holds log p(x, z). A richer
q (a full covariance, a flow: `vae.families`) is scored the same way, with
its own log-density at the fine points (`grid_elbo_of`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from vae import objectives
from vae.best_gaussian import best_gaussian, groups
from vae.exact import Grid, GridPosterior, posterior_moments, posterior_on_grid
from vae.families import Family, Posterior
from vae.models import LatentModel
from vae.posterior import count_peaks, peak_starts
from vae.priors import HierarchicalPrior
from vae.stats import mean_and_se

DEFAULT_GRID = Grid()  # the grid of `vae.exact`'s defaults
COVER_SAMPLES = 2000  # codes drawn from a richer q to find where its mass lies
POINTS_PER_PASS = 2048  # fine points at which a richer q is evaluated at once; memory only


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

    $$\mathrm{ELBO} = \sum_p Q_p [\log p(x, z_p) + \log h^2 - \log Q_p],$$

    the midpoint rule for $\mathbb{E}_q[\log p(x, z) - \log q(z)]$. It is never above
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
    for rows, part in groups(posterior):
        out[rows] = _elbo(part, _log_share(part, mu[rows], logvar[rows]))
    return out


def grid_elbo_of(posterior: GridPosterior, q: Family) -> torch.Tensor:
    """The ELBO of any q(z|x) of `vae.families` per example, by quadrature on the grid.

    As `grid_elbo`, with the shares Q_p taken from q's own log-density at the
    fine points; it too needs q's mass on the fine cells (see `inference_gaps`).

    Args:
        posterior: the grid of `posterior_on_grid`.
        q: q(z|x) of the same B examples, e.g. `model.encode(x)`.

    Returns:
        Tensor of shape (B,), float64, in nats.
    """
    out = torch.empty(posterior.log_px.shape[0], dtype=torch.float64, device=posterior.z.device)
    for rows, part in groups(posterior):
        points = part.z.transpose(0, 1).to(q.base.mu.dtype)  # (P, b, 2)
        part_q = q.select(rows)
        log_q = torch.cat([part_q.log_prob(z) for z in points.split(POINTS_PER_PASS)]).T
        log_q = log_q.double().masked_fill(~torch.isfinite(part.log_joint), -math.inf)
        out[rows] = _elbo(part, torch.log_softmax(log_q, dim=1))
    return out


def q_mass(posterior: GridPosterior, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The share of q(z|x) that falls on the fine cells, by the midpoint rule: (B,)."""
    log_q = objectives.gaussian_log_density(
        posterior.z, mu.double()[:, None], logvar.double()[:, None]
    )
    log_q = log_q.masked_fill(~torch.isfinite(posterior.log_joint), -math.inf)
    return torch.exp(torch.logsumexp(log_q, dim=1) + 2 * math.log(posterior.step))


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

    A richer q (full covariance, flow) is scored with its own density, on a grid
    refined over the mean and four standard deviations of `COVER_SAMPLES` of its
    codes. The best q is still searched among diagonal Gaussians, with the
    encoder's q as a candidate, so both parts stay >= 0; against the best q of
    the richer family itself, the approximation gap here is an upper bound and
    the amortization gap a lower bound. `best_mu` and `best_logvar` are then the
    best diagonal Gaussian's.

    Args:
        model: a `vae.models.LatentModel` with a 2-D code and an encoder with a density.
        x: examples, shape (B, ...).
        grid: the integration grid.
        steps: natural-gradient steps from each start (see `best_gaussian`).
        threshold: nats below the highest posterior density that the fit sees.

    Returns:
        A `Gaps`.
    """
    encoded = model.encode(x)
    if encoded.base.logvar is None:
        raise ValueError("a deterministic encoder has no q(z|x): no ELBO to compare")
    diagonal = isinstance(encoded, Posterior)
    if diagonal:
        mu, logvar = encoded.mu.double(), encoded.logvar.double()
    else:  # a diagonal Gaussian as wide as q, for the grid to cover
        generator = torch.Generator(device=encoded.base.mu.device).manual_seed(0)
        z, _ = model.sample_codes(encoded, generator, COVER_SAMPLES)  # (S, B, 2)
        mu, logvar = z.mean(0).double(), z.var(0).log().double()
    posterior = posterior_on_grid(model, x, grid, cover=(mu, logvar))
    elbo = grid_elbo(posterior, mu, logvar) if diagonal else grid_elbo_of(posterior, encoded)
    core = _core(posterior, threshold)
    mean, var = posterior_moments(core)
    starts = [(mean, var.log()), *peak_starts(core, logvar)]
    best_mu, best_logvar, _ = best_gaussian(core, starts, steps)
    best_elbo = grid_elbo(posterior, best_mu, best_logvar)
    encoder_better = elbo > best_elbo
    best_is_encoders = encoder_better & diagonal  # a richer q is no Gaussian (mu, logvar)
    return Gaps(
        log_px=posterior.log_px,
        elbo=elbo,
        best_elbo=torch.where(encoder_better, elbo, best_elbo),
        best_mu=torch.where(best_is_encoders[:, None], mu, best_mu),
        best_logvar=torch.where(best_is_encoders[:, None], logvar, best_logvar),
        posterior=posterior,
    )


def choose_digits(gaps: Gaps) -> dict[str, int]:
    """Three examples, by rule over all of them: "crisp", the smallest gap;
    "modes", the largest approximation gap among posteriors with more than one
    peak (the largest of all, if none has two); "missed", the largest gap."""
    by_approximation = gaps.approximation.argsort(descending=True).tolist()
    several = (i for i in by_approximation if count_peaks(gaps.posterior, i) > 1)
    return {
        "crisp": int(gaps.gap.argmin()),
        "modes": next(several, by_approximation[0]),
        "missed": int(gaps.gap.argmax()),
    }


TOP_CODES = 64  # codes z ~ q(z|x) per example for `top_layer_gap`
TOP_DRAWS = 64  # draws u ~ q(u|z) per code for the bound on log p(z)


@torch.no_grad()
def top_layer_gap(
    model: LatentModel,
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    codes: int = TOP_CODES,
    draws: int = TOP_DRAWS,
) -> torch.Tensor:
    r"""What a two-level model's bound loses to its top encoder, per example: (B,), float64.

    With a second code u above z (`vae.priors.HierarchicalPrior`), the bound it
    trains is the ELBO of q(z|x) under the exact p(z), less

    $$\mathbb{E}_{q(z \mid x)}\big[\mathrm{KL}(q(u \mid z) \,\|\, p(u \mid z))\big]
    = \mathbb{E}_{q(z \mid x)}\big[\log p(z) - \mathbb{E}_{q(u \mid z)}[\log p(z \mid u)
    + \log p(u) - \log q(u \mid z)]\big],$$

    estimated at `codes` codes z per example, with `draws` draws of u for each.
    Both terms are taken at the same codes, so the difference has far less
    noise than a Monte Carlo bound set against the grid's ELBO. Zero for a model
    without a top layer; log p(z) is on the grid over u, so z is at most 2-D.
    """
    prior = getattr(model, "prior", None)
    if not isinstance(prior, HierarchicalPrior):
        return torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    z, _ = model.sample_codes(model.encode(x), generator, codes)  # (S, B, D)
    bound = torch.stack([prior.log_density_sample(z, None, generator) for _ in range(draws)])
    return (prior.log_density(z.double()) - bound.double().mean(0)).mean(0)
