r"""The shape of a 2-D posterior on the grid of `vae.exact`: the density levels
that enclose given shares of its mass, its peaks, and where a Gaussian sits
among them; and the ellipses of a Gaussian that enclose given shares of its own
mass, to draw beside it.

A peak is a local maximum of p(z|x) over the fine cells (a cell no lower than
its eight neighbours) at least `PEAK_FLOOR` times as high as the highest, so
that a ripple in a flat tail is not counted. A two-peaked posterior is where a
single Gaussian q must choose (Bishop 2006, "Pattern Recognition and Machine
Learning", section 10.1.2): minimising KL(q || p) puts it on one peak,
minimising KL(p || q) spreads it over both.

Where a Gaussian sits is said by its centre (`place`) and by its ellipses: a
peak lies inside the ellipse that holds a share s of the Gaussian when the
peak's `peak_shares` is at most s. How much a Gaussian and a posterior overlap
is said by `overlap`, from the mass each has inside the other's region.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from vae import objectives
from vae.exact import GridPosterior, posterior_image

PEAK_FLOOR = 0.01  # a local maximum counts as a peak above this share of the highest density
PEAK_STARTS = 3  # the best Gaussian is searched for from this many of a posterior's peaks
ON_PEAK = 0.5  # a point is on a peak where the density is at least this share of the peak's
OVERLAP_SHARE = 0.99  # `overlap` weighs the mass inside the regions that hold this share

Place = Literal["on", "between", "away"]


def gaussian_radius(share: float) -> float:
    r"""The Mahalanobis radius of the ellipse that holds `share` of a 2-D Gaussian.

    The squared radius $r^2 = \sum_j (z_j - \mu_j)^2 / \sigma_j^2$ of a 2-D
    Gaussian is chi-square with two degrees of freedom, whose distribution is
    $P(r^2 \le t) = 1 - e^{-t/2}$; so

    $$r = \sqrt{-2 \log(1 - \mathrm{share})}.$$
    """
    return math.sqrt(-2 * math.log(1 - share))


def gaussian_share(radius: float) -> float:
    """The share of a 2-D Gaussian inside its ellipse of Mahalanobis radius `radius`:
    $1 - e^{-r^2/2}$, the inverse of `gaussian_radius`."""
    return 1 - math.exp(-(radius**2) / 2)


def gaussian_ellipse(
    mu: Sequence[float], logvar: Sequence[float], share: float, points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Points (x, y) on the ellipse that holds `share` of N(mu, diag e^logvar) in 2-D."""
    t = np.linspace(0, 2 * np.pi, points)
    r, sd = gaussian_radius(share), np.exp(0.5 * np.asarray(logvar))
    return mu[0] + r * sd[0] * np.cos(t), mu[1] + r * sd[1] * np.sin(t)


def gaussian_box(
    mu: Sequence[float], logvar: Sequence[float], share: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The smallest box around that ellipse: (low, high) along z_1 and along z_2."""
    r, sd = gaussian_radius(share), np.exp(0.5 * np.asarray(logvar))
    return (mu[0] - r * sd[0], mu[0] + r * sd[0]), (mu[1] - r * sd[1], mu[1] + r * sd[1])


def highest_density_levels(
    log_density: torch.Tensor, area: float, masses: Sequence[float]
) -> torch.Tensor:
    """The log-density levels whose upper sets hold `masses` of a density on cells.

    The highest-density region that holds a share m is the set of cells above
    some level; adding the cells from the highest down, the level is the
    log-density of the cell at which the sum first reaches m.

    Args:
        log_density: log-densities on cells of equal area, any shape; -inf
            marks cells off the grid.
        area: the area of one cell.
        masses: shares of the mass, each in (0, 1).

    Returns:
        The levels, ascending (the largest share first): shape (len(masses),).
    """
    values = log_density[torch.isfinite(log_density)].sort(descending=True).values
    mass = torch.cumsum(torch.exp(values) * area, dim=0)
    shares = torch.tensor(masses, dtype=mass.dtype, device=mass.device)
    index = torch.searchsorted(mass, shares).clamp(max=values.numel() - 1)
    return values[index].sort().values


def peak_cells(
    posterior: GridPosterior, row: int, floor: float = PEAK_FLOOR
) -> tuple[torch.Tensor, torch.Tensor]:
    """The peaks of one example's posterior on the fine cells.

    Returns:
        Their codes (P, 2) and log-densities log p(z|x) (P,), highest first.
    """
    z1, z2, log_density = posterior_image(posterior, row)  # log_density: (n2, n1)
    neighbourhood = F.max_pool2d(log_density[None, None], 3, stride=1, padding=1)[0, 0]
    top = (log_density == neighbourhood) & (log_density >= log_density.max() + math.log(floor))
    rows, cols = top.nonzero(as_tuple=True)
    order = log_density[rows, cols].argsort(descending=True)
    codes = torch.stack([z1[cols], z2[rows]], dim=1)[order]
    return codes, log_density[rows, cols][order]


def count_peaks(posterior: GridPosterior, row: int, floor: float = PEAK_FLOOR) -> int:
    """How many peaks one example's posterior has (see `peak_cells`)."""
    return len(peak_cells(posterior, row, floor)[1])


def density_at(posterior: GridPosterior, row: int, mu: torch.Tensor) -> torch.Tensor:
    """log p(z|x) of one example on the fine cell nearest to the point mu (2,)."""
    z1, z2, log_density = posterior_image(posterior, row)
    return log_density[(z2 - mu[1]).abs().argmin(), (z1 - mu[0]).abs().argmin()]


def relative_density(posterior: GridPosterior, row: int, mu: torch.Tensor) -> float:
    """p(z|x) on the fine cell nearest to mu, as a share of its highest value."""
    highest = posterior_image(posterior, row)[2].max()
    return math.exp(density_at(posterior, row, mu) - highest)


def place(
    posterior: GridPosterior,
    row: int,
    mu: torch.Tensor | Sequence[float],
    on_peak: float = ON_PEAK,
    floor: float = PEAK_FLOOR,
) -> Place:
    """Where a point mu, a Gaussian's centre, sits among a posterior's peaks.

    "on" a peak where the posterior's density at mu is at least `on_peak` times
    that of the nearest peak; "between" the two highest where it is off them,
    but over the segment that joins them and closer to that segment than half
    its length; "away" otherwise.
    """
    codes, heights = peak_cells(posterior, row, floor)
    mu = torch.as_tensor(mu, dtype=codes.dtype)
    here = density_at(posterior, row, mu)
    nearest = (codes - mu).norm(dim=1).argmin()
    if here >= heights[nearest] + math.log(on_peak):
        return "on"
    if len(codes) < 2:
        return "away"
    a, b = codes[0], codes[1]
    t = torch.dot(mu - a, b - a) / (b - a).square().sum()  # position along a -> b
    off = (mu - (a + t * (b - a))).norm()  # distance from the line through a and b
    return "between" if 0 < t < 1 and off < 0.5 * (b - a).norm() else "away"


def _mahalanobis(z: torch.Tensor, mu, logvar) -> torch.Tensor:
    """The Mahalanobis radius of points z (..., 2) from N(mu, diag e^logvar)."""
    mu = torch.as_tensor(mu, dtype=z.dtype, device=z.device)
    sd = torch.exp(0.5 * torch.as_tensor(logvar, dtype=z.dtype, device=z.device))
    return ((z - mu) / sd).norm(dim=-1)


def peak_shares(
    posterior: GridPosterior,
    row: int,
    mu: torch.Tensor | Sequence[float],
    logvar: torch.Tensor | Sequence[float],
    floor: float = PEAK_FLOOR,
) -> list[float]:
    """For each peak of one example's posterior, highest first, the share of
    N(mu, diag e^logvar) inside the Gaussian's ellipse through that peak: the
    peak lies inside the ellipse that holds a share s exactly when this is at most s."""
    codes, _ = peak_cells(posterior, row, floor)
    return [gaussian_share(r) for r in _mahalanobis(codes, mu, logvar).tolist()]


def posterior_share_inside(
    posterior: GridPosterior,
    row: int,
    mu: torch.Tensor | Sequence[float],
    logvar: torch.Tensor | Sequence[float],
    share: float,
) -> float:
    """The share of one example's p(z|x) inside the ellipse that holds `share`
    of N(mu, diag e^logvar), by the midpoint rule on the fine cells."""
    z1, z2, log_density = posterior_image(posterior, row)
    z = torch.stack(torch.meshgrid(z1, z2, indexing="xy"), dim=-1)  # (n2, n1, 2)
    inside = _mahalanobis(z, mu, logvar) <= gaussian_radius(share)
    return (torch.exp(log_density[inside]).sum() * posterior.step**2).item()


def gaussian_share_inside(
    posterior: GridPosterior,
    row: int,
    mu: torch.Tensor | Sequence[float],
    logvar: torch.Tensor | Sequence[float],
    share: float,
) -> float:
    """The share of N(mu, diag e^logvar) inside the smallest region that holds
    `share` of one example's p(z|x), by the midpoint rule on the fine cells."""
    z1, z2, log_density = posterior_image(posterior, row)
    level = highest_density_levels(log_density, posterior.step**2, [share])[0]
    z = torch.stack(torch.meshgrid(z1, z2, indexing="xy"), dim=-1)[log_density >= level]
    mu = torch.as_tensor(mu, dtype=z.dtype, device=z.device)
    logvar = torch.as_tensor(logvar, dtype=z.dtype, device=z.device)
    log_q = objectives.gaussian_log_density(z, mu, logvar)
    return (torch.exp(log_q).sum() * posterior.step**2).item()


def overlap(
    posterior: GridPosterior,
    row: int,
    mu: torch.Tensor | Sequence[float],
    logvar: torch.Tensor | Sequence[float],
    share: float = OVERLAP_SHARE,
) -> float:
    """How much one example's posterior and a Gaussian overlap: the larger of
    the share of each inside the other's region that holds `share` of it. Near
    0 when they lie apart; near `share` when one lies within the other, however
    much narrower it is."""
    return max(
        posterior_share_inside(posterior, row, mu, logvar, share),
        gaussian_share_inside(posterior, row, mu, logvar, share),
    )


def peak_starts(
    posterior: GridPosterior, logvar: torch.Tensor, most: int = PEAK_STARTS
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Starts for `vae.gaps.best_gaussian` on each example's peaks: the k-th start is centred
    on its k-th highest peak (on its highest where it has fewer than k), with
    log-variances `logvar` (B, 2). A posterior with several lobes has a local
    optimum on each; starting from every lobe finds the best of them."""
    batch = posterior.log_px.shape[0]
    centres = torch.empty(most, batch, 2, dtype=torch.float64, device=posterior.z.device)
    for row in range(batch):
        codes = peak_cells(posterior, row)[0][:most].double()
        centres[:, row] = codes[torch.arange(most).clamp(max=len(codes) - 1)]
    return [(centre, logvar.double()) for centre in centres]
