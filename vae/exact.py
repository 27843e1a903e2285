r"""Exact log p(x) and the true posterior p(z|x) of a model with a 2-D code.

With two latent dimensions the marginal likelihood is a 2-D integral,

    $p(x) = \int p(x \mid z)\, p(z)\, dz$,

and a grid evaluates it: the midpoint rule over cells of side h, summed in log
space, $\log p(x) \approx \operatorname{logsumexp}_g [\log p(x, z_g) + \log h^2]$.
For an integrand as smooth as a posterior of width sigma the midpoint rule is
accurate to about $e^{-2\pi^2\sigma^2/h^2}$ relative error once h is below
sigma, so the work is in putting fine cells where the mass is:

1. a coarse pass over the box [-box, box]^2 (the prior puts a density of
   e^-18 or less at its edge) finds, for every example, the cells where
   log p(x, z) is within `threshold` nats of its largest value;
2. those cells, and their neighbours, are cut into refine x refine cells and
   evaluated again; every other cell keeps its coarse value.

Both passes are batched: the decoder runs once per grid point, and one matrix
product turns its outputs into log p(x|z) for every example at once. Each
example's answer depends only on its own cells, never on the rest of the batch.

The same grid gives the posterior itself, p(z|x) = p(x, z) / p(x) at every
fine point (for contours, its mode and its mass), and the ELBO of any Gaussian
q(z|x) by quadrature, which is what fitting the best Gaussian per example needs
(Cremer, Li & Duvenaud 2018, "Inference Suboptimality in Variational
Autoencoders", arXiv:1801.03558).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from vae import objectives


@dataclass(frozen=True)
class Grid:
    """Where, and how finely, p(x, z) is evaluated."""

    box: float = 6.0  # the grid covers at least [-box, box]^2, more if mass reaches its edge
    coarse_step: float = 0.2  # cell side of the first pass
    refine: int = 4  # a cell with mass is cut into refine x refine cells
    threshold: float = 12.0  # nats below an example's largest log p(x, z) that still count as mass
    chunk: int = 4096  # grid points per decoder pass; memory only

    @property
    def fine_step(self) -> float:
        return self.coarse_step / self.refine

    @property
    def cells(self) -> int:
        """Coarse cells along each axis."""
        return round(2 * self.box / self.coarse_step)


class GridPosterior(NamedTuple):
    """The posterior of each example on the fine cells that hold its mass."""

    log_px: torch.Tensor  # (B,) log p(x), float64, nats
    z: torch.Tensor  # (B, P, 2) centres of the fine cells, padded
    log_joint: torch.Tensor  # (B, P) log p(x, z) there; -inf marks padding
    step: float  # side of the fine cells
    mass: torch.Tensor  # (B,) share of p(z|x) on those cells (the rest is on coarse cells)

    @property
    def log_density(self) -> torch.Tensor:
        """log p(z|x) at every fine point: (B, P)."""
        return self.log_joint - self.log_px[:, None]

    @property
    def mode(self) -> torch.Tensor:
        """The fine grid point of highest posterior density: (B, 2)."""
        index = self.log_joint.argmax(dim=1)
        return self.z[torch.arange(self.z.shape[0]), index]


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def _placement(model, like: torch.Tensor) -> tuple[torch.device, torch.dtype]:
    """The device and dtype of the model's weights (of `like` for a model without any)."""
    parameter = next(iter(getattr(model, "parameters", list)()), None)
    return (like.device, like.dtype) if parameter is None else (parameter.device, parameter.dtype)


def log_likelihood_matrix(model, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""log p(x_b | z_g) for every example b and every code g: shape (B, G), float64.

    One decoder pass over the G codes serves all B examples: for Bernoulli
    pixels $\log p(x \mid z) = x \cdot l - \sum_i \operatorname{softplus}(l_i)$
    with logits l, and for Gaussian pixels the square $\|x - m\|^2$ expands into
    $\|x\|^2 - 2 x \cdot m + \|m\|^2$; either way a matrix product.
    """
    device, dtype = _placement(model, z)
    decoded = _flat(model.likelihood_params(z.to(device, dtype))).double()  # (G, N)
    x = _flat(x).to(decoded.device, torch.float64)  # (B, N)
    if model.config.likelihood == "bernoulli":
        return x @ decoded.T - F.softplus(decoded).sum(dim=1)
    sigma2 = model.config.observation_sigma**2
    n = x.shape[1]
    squares = x.square().sum(1, keepdim=True) - 2 * x @ decoded.T + decoded.square().sum(1)
    return -0.5 * (n * (objectives.LOG_2PI + math.log(sigma2)) + squares / sigma2)


def log_joint_matrix(model, x: torch.Tensor, z: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """log p(x_b, z_g) = log p(x_b | z_g) + log N(z_g; 0, I): shape (B, G), float64."""
    blocks = [
        log_likelihood_matrix(model, x, part)
        + objectives.standard_normal_log_density(part.to(x.device, torch.float64))
        for part in z.split(chunk)
    ]
    return torch.cat(blocks, dim=1)


def _centres(grid: Grid, device: torch.device | None = None) -> torch.Tensor:
    """Coarse cell centres along one axis: (n,)."""
    i = torch.arange(grid.cells, dtype=torch.float64, device=device)
    return -grid.box + grid.coarse_step * (i + 0.5)


def _offsets(grid: Grid, device: torch.device | None = None) -> torch.Tensor:
    """Fine cell centres relative to their coarse cell's centre: (refine^2, 2)."""
    m, h = grid.refine, grid.fine_step
    o = h * (torch.arange(m, dtype=torch.float64, device=device) - (m - 1) / 2)
    return torch.stack(torch.meshgrid(o, o, indexing="ij"), dim=-1).reshape(-1, 2)


def _cells_around(
    mu: torch.Tensor, logvar: torch.Tensor, grid: Grid, reach: float = 4.0
) -> torch.Tensor:
    """Coarse cells within `reach` standard deviations of a Gaussian: (B, n, n) bool."""
    c = _centres(grid, mu.device)
    half = reach * torch.exp(0.5 * logvar.double()) + grid.coarse_step  # (B, 2)
    near = (c[None, None, :] - mu.double()[:, :, None]).abs() <= half[:, :, None]  # (B, 2, n)
    return near[:, 0, :, None] & near[:, 1, None, :]


@torch.no_grad()
def posterior_on_grid(
    model,
    x: torch.Tensor,
    grid: Grid = Grid(),
    cover: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> GridPosterior:
    """log p(x) and p(z|x) on a grid refined where each example's posterior has mass.

    Args:
        model: a model with a 2-D code: `model.likelihood_params(z)` gives the
            parameters of p(x|z) and `model.config.likelihood` names their kind.
        x: examples, shape (B, ...), e.g. binarized images (B, 28, 28).
        grid: the box, the coarse step, the refinement and the mass threshold.
        cover: optionally a Gaussian (mu, logvar) per example, each (B, 2), whose
            cells to four standard deviations are refined too, so that the ELBO
            of that Gaussian can be taken on the fine grid (see `grid_elbo`).

    Returns:
        A `GridPosterior`: log p(x) per example and, on the fine cells that hold
        each example's mass, the points and log p(x, z).
    """
    device, _ = _placement(model, x)
    x = x.to(device)
    box = grid.box
    if cover is not None:  # the box holds the Gaussian to four standard deviations
        reach = cover[0].abs() + 4 * torch.exp(0.5 * cover[1]) + grid.coarse_step
        box = max(box, float(reach.max()))
    while True:
        # A box that is a whole number of cells keeps the cells of every box aligned.
        grid = dataclasses.replace(grid, box=math.ceil(box / grid.coarse_step) * grid.coarse_step)
        n, m2 = grid.cells, grid.refine**2
        c = _centres(grid, device)
        coarse_z = torch.stack(torch.meshgrid(c, c, indexing="ij"), dim=-1).reshape(-1, 2)
        coarse = log_joint_matrix(model, x, coarse_z, grid.chunk)  # (B, n*n)
        batch = coarse.shape[0]
        # The cells with mass, and their neighbours: a narrow peak between two
        # coarse points still lights up the points beside it.
        peak = coarse.max(dim=1, keepdim=True).values
        mass = (coarse >= peak - grid.threshold).view(batch, n, n)
        edge = mass[:, [0, -1], :].any() or mass[:, :, [0, -1]].any()
        if not edge:
            break
        box *= 1.5  # mass at the edge of the box: the box is too small
    own = F.max_pool2d(mass[:, None].float(), 3, stride=1, padding=1)[:, 0] > 0
    if cover is not None:
        own |= _cells_around(*cover, grid)
    own = own.view(batch, n * n)

    # Fine points of every cell some example owns, evaluated once for all.
    union = own.any(dim=0).nonzero().squeeze(1)  # (U,) coarse cell indices
    owner, cell = own[:, union].nonzero(as_tuple=True)  # entries (example, union position)
    counts = torch.bincount(owner, minlength=batch)
    slot = torch.arange(owner.shape[0], device=device) - (torch.cumsum(counts, 0) - counts)[owner]
    width = int(counts.max())
    fine = torch.full((batch, width, m2), -math.inf, dtype=torch.float64, device=device)
    fine_z = torch.zeros(batch, width, m2, 2, dtype=torch.float64, device=device)
    offsets = _offsets(grid, device)
    per_chunk = max(1, grid.chunk // m2)
    for start in range(0, union.shape[0], per_chunk):
        cells = union[start : start + per_chunk]
        z = (coarse_z[cells][:, None, :] + offsets).reshape(-1, 2)  # (C*m2, 2)
        pick = (cell >= start) & (cell < start + cells.shape[0])
        b, s, u = owner[pick], slot[pick], cell[pick] - start
        # Only the examples that own a cell of this chunk are scored on it.
        involved, row = torch.unique(b, return_inverse=True)
        block = log_joint_matrix(model, x[involved], z, grid.chunk).view(len(involved), -1, m2)
        fine[b, s] = block[row, u]
        fine_z[b, s] = z.view(-1, m2, 2)[u]

    log_coarse_area = 2 * math.log(grid.coarse_step)
    log_fine_area = 2 * math.log(grid.fine_step)
    rest = coarse.masked_fill(own, -math.inf) + log_coarse_area  # cells left coarse
    fine = fine.view(batch, -1)
    log_fine_mass = torch.logsumexp(fine + log_fine_area, dim=1)
    log_px = torch.logaddexp(log_fine_mass, torch.logsumexp(rest, dim=1))
    return GridPosterior(
        log_px=log_px,
        z=fine_z.view(batch, -1, 2),
        log_joint=fine,
        step=grid.fine_step,
        mass=torch.exp(log_fine_mass - log_px),
    )


def log_marginal(model, x: torch.Tensor, grid: Grid = Grid()) -> torch.Tensor:
    """log p(x) per example by numerical integration over the 2-D code.

    Args:
        model: a `vae.models.LatentModel` with `latent_dim == 2` (any model whose
            `likelihood_params(z)` and `config.likelihood` define p(x|z)); the prior is N(0, I).
        x: examples of shape (B, 28, 28) (any shape (B, ...) the decoder
            produces), binarized to {0, 1} for a Bernoulli likelihood.
        grid: the integration grid; the default is accurate to well under 0.01
            nats for posteriors as narrow as a few hundredths.

    Returns:
        Tensor of shape (B,), float64, in nats.
    """
    return posterior_on_grid(model, x, grid).log_px


def posterior_image(
    posterior: GridPosterior, i: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Example i's log p(z|x) as an image over the fine cells that hold its mass.

    Returns:
        The cell centres along z_1 (n1,) and z_2 (n2,), and log p(z|x) of shape
        (n2, n1), rows along z_2 as plotting functions expect; -inf off the cells.
    """
    valid = torch.isfinite(posterior.log_joint[i])
    z = posterior.z[i][valid]  # (P, 2)
    low = z.min(dim=0).values
    index = torch.round((z - low) / posterior.step).long()  # (P, 2) lattice positions
    n1, n2 = (index.max(dim=0).values + 1).tolist()
    image = torch.full((n2, n1), -math.inf, dtype=torch.float64, device=z.device)
    image[index[:, 1], index[:, 0]] = posterior.log_density[i][valid]
    steps = posterior.step * torch.arange(max(n1, n2), dtype=torch.float64, device=z.device)
    return low[0] + steps[:n1], low[1] + steps[:n2], image


def posterior_moments(posterior: GridPosterior) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and per-coordinate variance of p(z|x) on the fine cells: each (B, 2).

    The Gaussian with these moments is the diagonal Gaussian closest to the
    posterior in KL(p(z|x) || q), the direction the ELBO does not use.
    """
    weight = torch.softmax(posterior.log_joint, dim=1)[..., None]  # (B, P, 1)
    mean = (weight * posterior.z).sum(dim=1)
    var = (weight * (posterior.z - mean[:, None]).square()).sum(dim=1)
    return mean, var


def inclusive_kl(posterior: GridPosterior, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL(p(z|x) || q) for q = N(mu, diag e^logvar), by quadrature on the fine cells: (B,).

    $\mathrm{KL}(p \,\|\, q) = \mathbb{E}_{p(z \mid x)}[\log p(z \mid x) - \log q(z)]$, the
    direction the ELBO does not use: it is large wherever p has mass and q has
    little, so its best Gaussian spreads over every mode (see `posterior_moments`).
    """
    valid = torch.isfinite(posterior.log_joint)
    log_density = posterior.log_density.masked_fill(~valid, 0.0)
    log_q = objectives.diagonal_normal_log_density(
        posterior.z, mu.double()[:, None], logvar.double()[:, None]
    )
    mass = torch.exp(posterior.log_density) * posterior.step**2  # (B, P), 0 on padding
    return (mass * (log_density - log_q.masked_fill(~valid, 0.0))).sum(dim=1)


# -- Gaussian q(z|x) on the grid --------------------------------------------------


def _groups(posterior: GridPosterior, size: int = 64):
    """The examples in groups of similar numbers of fine points, padding trimmed.

    Yields (rows, part): the examples' indices and their `GridPosterior`. The fine
    points of each example come first in its row, so trimming is slicing.
    """
    counts = torch.isfinite(posterior.log_joint).sum(dim=1)
    for rows in torch.argsort(counts).split(size):
        width = int(counts[rows].max())
        yield (
            rows,
            posterior._replace(
                log_px=posterior.log_px[rows],
                z=posterior.z[rows, :width],
                log_joint=posterior.log_joint[rows, :width],
                mass=posterior.mass[rows],
            ),
        )


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
    log_q = objectives.diagonal_normal_log_density(posterior.z, mu[:, None], logvar[:, None])
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
    log_q = objectives.diagonal_normal_log_density(
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
            # constant that the normalisation over the cells removes.
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
            precision = (1 - rate) / var - rate * curvature
            precision = torch.maximum(precision, 0.25 / var)  # sigma at most doubles
            logvar = torch.clamp(-torch.log(precision), min=floor)
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
    starts from the posterior's moments and from its mode. This is the best q
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
    model, x: torch.Tensor, grid: Grid = Grid(), steps: int = 10, threshold: float = 12.0
) -> Gaps:
    """log p(x), the encoder's ELBO and the best Gaussian's ELBO, on one grid.

    The split of Cremer, Li & Duvenaud (2018): the gap log p(x) - ELBO is the
    approximation gap, log p(x) - ELBO(best q), plus the amortization gap,
    ELBO(best q) - ELBO(encoder's q). The best q is fitted on the fine points
    within `threshold` nats of the posterior's highest density, starting from
    the posterior's moments and from its mode, then scored on the whole grid;
    the encoder's q is a candidate too. On the grid both parts are therefore
    >= 0 exactly.

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
    best_mu, best_logvar, _ = best_gaussian(core, [(mean, var.log()), (core.mode, logvar)], steps)
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
