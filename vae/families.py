r"""The families of q(z|x): a diagonal Gaussian, a Gaussian with a full
covariance, and a diagonal Gaussian pushed through a normalizing flow.

Every family is a diagonal Gaussian base $N(\mu, \operatorname{diag}\sigma^2)$
followed by an invertible map $z = f(z_0)$:

    Posterior        f = identity                                 the VAE's q
    FullCovariance   f(z0) = z0 + M (z0 - mu) / sigma              z = mu + L eps
    FlowPosterior    f = affine coupling layers, conditioned on x  (`vae.flows`)

so that sampling has one spelling for all of them
(`vae.models.LatentModel.sample_codes`): $z_0 = \mu + \sigma\epsilon$, $z = f(z_0)$,
$\log q(z \mid x) = \log N(z_0; \mu, \sigma^2) - \log|\det \partial f / \partial z_0|$.
Each family also gives log q(z|x) at any z (`log_prob`), which the grid of
`vae.exact`, importance sampling and a mixture prior of q's (`vae.priors`) need.

Shapes: a family holds B examples; codes have shape (..., B, D), any leading
dimensions broadcasting (k samples per example, or the points of a grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from vae import objectives
from vae.flows import CouplingFlow


class Posterior(NamedTuple):
    """q(z|x) = N(mu, diag e^logvar), or a point mass at mu when logvar is None."""

    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor | None  # (B, D)

    @property
    def base(self) -> Posterior:
        """The diagonal Gaussian the family starts from: itself."""
        return self

    def push(self, z0: torch.Tensor) -> tuple[torch.Tensor, float]:
        """z = f(z0) and log |det df/dz0|: the identity, 0."""
        return z0, 0.0

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z|x) for codes z of shape (..., B, D): (..., B)."""
        if self.logvar is None:
            raise ValueError("a point mass has no density q(z|x)")
        return objectives.gaussian_log_density(z, self.mu, self.logvar)

    def standard_normal_kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) per example, in closed form: (B,)."""
        if self.logvar is None:
            return torch.zeros(self.mu.shape[0], device=self.mu.device)
        return objectives.gaussian_kl(self.mu, self.logvar)

    def select(self, rows: torch.Tensor | slice) -> Posterior:
        """The q of some examples only."""
        return Posterior(self.mu[rows], None if self.logvar is None else self.logvar[rows])


@dataclass(frozen=True)
class FullCovariance:
    r"""q(z|x) = N(mu, L L^T) with L lower-triangular: its diagonal is sigma = e^(logvar/2)
    and its strictly lower part `lower` comes from the encoder, so any covariance can be had.

    $z = \mu + L\epsilon$ is the base draw $z_0 = \mu + \sigma \epsilon$ plus
    $M \epsilon$, $M$ = `lower`: a map with a unit-triangular Jacobian, whose
    log-determinant is 0.
    """

    base: Posterior  # mu and logvar = log L_jj^2, each (B, D)
    lower: torch.Tensor  # (B, D, D) the strictly lower-triangular part M of L

    @property
    def mu(self) -> torch.Tensor:
        """The mean of q: (B, D)."""
        return self.base.mu

    @property
    def scale_tril(self) -> torch.Tensor:
        """L, the Cholesky factor of the covariance: (B, D, D)."""
        return self.lower + torch.diag_embed(torch.exp(0.5 * self.base.logvar))

    @property
    def marginal_logvar(self) -> torch.Tensor:
        """log of the diagonal of L L^T, each coordinate's own variance: (B, D)."""
        return torch.log(self.scale_tril.square().sum(dim=-1))

    def push(self, z0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = z0 + M (z0 - mu) / sigma and log |det| = 0."""
        eps = (z0 - self.base.mu) * torch.exp(-0.5 * self.base.logvar)  # (..., B, D)
        z = z0 + torch.einsum("bij,...bj->...bi", self.lower, eps)
        return z, torch.zeros(z.shape[:-1], device=z.device, dtype=z.dtype)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        r"""$\log q(z) = \log N(L^{-1}(z - \mu); 0, I) - \sum_j \log L_{jj}$: (..., B)."""
        diff = z - self.base.mu  # (..., B, D)
        diff = diff.expand(*diff.shape[:-2], *self.base.mu.shape)
        lead, (batch, dim) = diff.shape[:-2], diff.shape[-2:]
        columns = diff.reshape(-1, batch, dim).permute(1, 2, 0)  # (B, D, N)
        scale_tril = self.scale_tril.to(columns.dtype)
        eps = torch.linalg.solve_triangular(scale_tril, columns, upper=False)  # L eps = z - mu
        eps = eps.permute(2, 0, 1).reshape(*lead, batch, dim)
        return objectives.gaussian_log_density(eps) - 0.5 * self.base.logvar.sum(dim=-1)

    def standard_normal_kl(self) -> torch.Tensor:
        r"""KL(q || N(0, I)) per example, in closed form: (B,).

        $\tfrac12 [\operatorname{tr} LL^T + \|\mu\|^2 - D - \log\det LL^T]$.
        """
        trace = self.scale_tril.square().sum(dim=(-2, -1))
        dim = self.mu.shape[-1]
        return 0.5 * (trace + self.mu.square().sum(-1) - dim - self.base.logvar.sum(-1))

    def select(self, rows: torch.Tensor | slice) -> FullCovariance:
        """The q of some examples only."""
        return FullCovariance(self.base.select(rows), self.lower[rows])


def lower_triangle(values: torch.Tensor, dim: int) -> torch.Tensor:
    """The strictly lower-triangular matrices (B, D, D) whose entries below the
    diagonal, row by row, are `values` (B, D(D-1)/2)."""
    rows, cols = torch.tril_indices(dim, dim, offset=-1, device=values.device)
    out = values.new_zeros(values.shape[0], dim, dim)
    out[:, rows, cols] = values
    return out


def lower_size(dim: int) -> int:
    """Entries below the diagonal of a D x D matrix."""
    return math.comb(dim, 2)


@dataclass(frozen=True)
class FlowPosterior:
    """q(z|x): the diagonal Gaussian `base` pushed through coupling layers that see x."""

    base: Posterior  # each (B, D)
    flow: CouplingFlow
    context: torch.Tensor  # (layers, B, W) the flow's features of each x

    @property
    def mu(self) -> torch.Tensor:
        """The image f(mu) of the base's mean, a code at the heart of q: (B, D)."""
        return self.push(self.base.mu)[0]

    def push(self, z0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = f(z0) and log |det df/dz0|: (..., B, D) and (..., B)."""
        return self.flow(z0, self.context)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z|x) = log N(f^-1(z); mu, sigma^2) + log |det df^-1/dz|: (..., B),
        in the precision of the flow's weights."""
        z0, log_det = self.flow.inverse(z.to(self.context.dtype), self.context)
        return self.base.log_prob(z0) + log_det

    def standard_normal_kl(self) -> None:
        """No closed form: the KL of a flow is estimated from samples."""
        return None

    def select(self, rows: torch.Tensor | slice) -> FlowPosterior:
        """The q of some examples only."""
        return FlowPosterior(self.base.select(rows), self.flow, self.context[:, rows])


Family = Posterior | FullCovariance | FlowPosterior  # any q(z|x) of the package
