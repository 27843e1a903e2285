r"""Exact log p(x) and the true posterior p(z|x) of a model with a 2-D code.

With two latent dimensions the marginal likelihood is a 2-D integral,

    $p(x) = \int p(x \mid z)\, p(z)\, dz$,

and a grid evaluates it: the midpoint rule over cells of side h, summed in log
space,

$$\log p(x) \approx \operatorname{logsumexp}_g [\log p(x, z_g) + \log h^2].$$

For a Gaussian integrand of width sigma the midpoint rule is accurate to a
relative error of about $2 e^{-2\pi^2\sigma^2/h^2}$, negligible once h is below
sigma, and a posterior is close enough to that for the same to hold nearly;
so the work is in putting fine cells where the mass is:

1. a coarse pass over the box [-box, box]^2 (the standard normal prior puts
   a density of e^-18 or less at its edge; the box grows if some example's
   posterior reaches it, as it may under a learned prior) finds, for every
   example, the cells where log p(x, z) is within `threshold` nats of its
   largest value;
2. those cells, and their neighbours, are cut into refine x refine cells and
   evaluated again; every other cell keeps its coarse value.

Both passes are batched: the decoder runs once per grid point, and one matrix
product turns its outputs into log p(x|z) for every example at once. Each
example's answer depends only on its own cells, not on the rest of the batch
(except that the box grows for the whole batch when any example's mass
reaches its edge, which adds cells of negligible mass).

The same grid gives the posterior itself, p(z|x) = p(x, z) / p(x) at every
fine point: for contours, its mode, its moments and the mass of any region.
`vae.gaps` takes the ELBO of Gaussians on it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from vae import objectives
from vae.models import LatentModel


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

    def select(self, rows: torch.Tensor | slice, width: int | None = None) -> GridPosterior:
        """The posteriors of some examples only; `width` keeps their first fine points."""
        return self._replace(
            log_px=self.log_px[rows],
            z=self.z[rows, :width],
            log_joint=self.log_joint[rows, :width],
            mass=self.mass[rows],
        )


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def _placement(model: LatentModel, like: torch.Tensor) -> tuple[torch.device, torch.dtype]:
    """The device and dtype of the model's weights (of `like` for a model without any)."""
    parameter = next(iter(getattr(model, "parameters", list)()), None)
    return (like.device, like.dtype) if parameter is None else (parameter.device, parameter.dtype)


def _observation_variance(model: LatentModel) -> float:
    """sigma^2 of a Gaussian p(x|z): the model's own (learned, for a sigma-VAE), or its config's."""
    if not hasattr(model, "observation_logvar"):
        return model.config.observation_sigma**2
    return math.exp(float(torch.as_tensor(model.observation_logvar()).detach()))


def log_likelihood_matrix(model: LatentModel, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""log p(x_b | z_g) for every example b and every code g: shape (B, G), float64.

    One decoder pass over the G codes serves all B examples: for Bernoulli
    pixels $\log p(x \mid z) = x \cdot l - \sum_p \operatorname{softplus}(l_p)$
    with logits l, and for Gaussian pixels the square $\|x - m\|^2$ expands into
    $\|x\|^2 - 2 x \cdot m + \|m\|^2$; either way a matrix product.

    Raises:
        ValueError: the model's decoder is autoregressive, so that its logits
            depend on x as well as z, and one decoder pass per code cannot serve
            every example.
    """
    if getattr(model.config, "decoder", "mlp") == "autoregressive":
        raise ValueError(
            "an autoregressive decoder's p(x|z) needs a decoder pass per image and code: "
            "the grid scores only decoders whose pixels are independent given z"
        )
    device, dtype = _placement(model, z)
    # --8<-- [start:likelihood_matrix]
    # (G, P): the decoder's logits l, or its means for Gaussian pixels, P pixels each
    decoded = _flat(model.likelihood_params(z.to(device, dtype)))
    x = _flat(x).to(decoded.device, torch.float64)  # (B, P): pixels in {0, 1}
    if model.config.likelihood == "bernoulli":
        # log p(x|z) = sum_p x_p l_p - log(1 + e^l_p), for every pair at once: (B, G);
        # each log(1 + e^l) in the logits' own precision, the sums in float64
        return x @ decoded.double().T - F.softplus(decoded).double().sum(dim=1)
    # --8<-- [end:likelihood_matrix]
    decoded = decoded.double()
    # Not `objectives.gaussian_log_density`: that would build a (B, G, N) tensor of
    # differences, where the expanded square needs only the matrix product.
    sigma2 = _observation_variance(model)
    n = x.shape[1]
    squares = x.square().sum(1, keepdim=True) - 2 * x @ decoded.T + decoded.square().sum(1)
    return -0.5 * (n * (objectives.LOG_2PI + math.log(sigma2)) + squares / sigma2)


def log_prior(model: LatentModel, z: torch.Tensor) -> torch.Tensor:
    """log p(z_g) for codes z (G, 2) in float64: the model's prior (`LatentModel.log_prior`),
    or N(0, I) for a model without one."""
    z = z.to(torch.float64)
    if not hasattr(model, "log_prior"):
        return objectives.gaussian_log_density(z)
    return model.log_prior(z.to(_placement(model, z)[0])).double()


def log_joint_matrix(
    model: LatentModel, x: torch.Tensor, z: torch.Tensor, chunk: int = 4096
) -> torch.Tensor:
    """log p(x_b, z_g) = log p(x_b | z_g) + log p(z_g): shape (B, G), float64."""
    blocks = [
        log_likelihood_matrix(model, x, part) + log_prior(model, part).to(x.device)
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
    model: LatentModel,
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
            of that Gaussian can be taken on the fine grid (see
            `vae.gaps.grid_elbo`).

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


def log_marginal(model: LatentModel, x: torch.Tensor, grid: Grid = Grid()) -> torch.Tensor:
    """log p(x) per example by numerical integration over the 2-D code.

    Args:
        model: a `vae.models.LatentModel` with `latent_dim == 2` (any model whose
            `likelihood_params(z)` and `config.likelihood` define p(x|z), and
            `log_prior(z)` p(z); without a `log_prior`, the prior is N(0, I)).
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
