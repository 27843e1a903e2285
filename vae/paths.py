r"""Straight lines through a code space: where a line between two codes crosses
the thinnest part of the aggregate posterior, and how far the images decoded
along it are from the data.

A line is chosen by the density ratio $q(z) / p(z)$ of the aggregate posterior
$q(z) = \frac1N \sum_n q(z \mid x_n)$ (`vae.aggregate`) to the prior
$p(z) = \mathcal{N}(0, I)$, the ratio whose small values are the holes. An image
is compared with the data by its cosine distance to the nearest of them,

    $1 - \max_m \frac{\langle x, r_m \rangle}{\|x\| \, \|r_m\|}$,

one minus the cosine of the angle between the two as vectors of pixels: it is the
same for a fainter or bolder copy of an image, so, unlike a difference of pixels,
it does not favour an image for having less ink.
"""

from __future__ import annotations

import torch

from vae import objectives
from vae.aggregate import CHUNK, mixture_log_density


def segment(a: torch.Tensor, b: torch.Tensor, n: int) -> torch.Tensor:
    """n evenly spaced points from a to b (D,), both ends included: shape (n, D)."""
    t = torch.linspace(0, 1, n, dtype=a.dtype).unsqueeze(1)  # (n, 1)
    return (1 - t) * a + t * b


def lowest_log_ratio(
    line: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> tuple[float, int]:
    """The lowest log q(z) - log p(z) at the points of `line` (P, D), and the index of
    that point, for the mixture q of N(mu_n, diag e^logvar_n)."""
    line = line.double()
    log_ratio = mixture_log_density(line, mu.double(), logvar.double())
    log_ratio -= objectives.gaussian_log_density(line)
    index = int(log_ratio.argmin())
    return float(log_ratio[index]), index


def deepest_crossing(
    ends: torch.Tensor,
    pairs: list[tuple[int, int]],
    mu: torch.Tensor,
    logvar: torch.Tensor,
    probes: int,
) -> tuple[tuple[int, int], float]:
    """Of the straight lines between the codes `ends` (K, D) of the given pairs of
    indices, the one whose lowest q(z) / p(z), over `probes` points, is the lowest.

    Args:
        ends: the codes the lines join, shape (K, D).
        pairs: the pairs (i, j) of rows of `ends` to try.
        mu: means of the mixture's components q(z|x_n), shape (N, D).
        logvar: their log-variances, shape (N, D).
        probes: points per line, ends included.

    Returns:
        The pair, and the log of its lowest ratio q(z) / p(z).
    """
    lowest = {
        (i, j): lowest_log_ratio(segment(ends[i], ends[j], probes), mu, logvar)[0] for i, j in pairs
    }
    pair = min(lowest, key=lowest.__getitem__)
    return pair, lowest[pair]


def nearest_cosine_distance(images: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """The cosine distance from each image to the nearest reference image: (B,).

    Args:
        images: shape (B, ...), each with some nonzero pixel.
        references: shape (M, ...), the same image shape, each with some nonzero pixel.
    """
    x = torch.nn.functional.normalize(images.flatten(1).double(), dim=1)  # (B, P)
    r = torch.nn.functional.normalize(references.flatten(1).double(), dim=1)  # (M, P)
    return 1 - torch.cat([(block @ r.T).max(dim=1).values for block in x.split(CHUNK)])
