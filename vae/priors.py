r"""Learned priors p(z): a mixture of Gaussians, the VampPrior, and a second
layer of latent variables above z.

Both are mixtures, $p(z) = \sum_k \pi_k\, p_k(z)$, whose components are
families of q(z|x) from `vae.families`:

    mixture   K diagonal Gaussians with learned means, log-variances and weights
    vamp      q(z|u_k) for K learned pseudo-inputs u_k, each of weight 1/K

The VampPrior ("variational mixture of posteriors") is Tomczak & Welling
(2018), "VAE with a VampPrior", arXiv:1705.07120: the prior that maximises the
ELBO is the aggregate posterior, the mean of q(z|x) over the data, and K
pseudo-inputs that the encoder maps like images approximate it. Its components
are the encoder's own q, so it takes the model's `encode` each time it is used.

The model's log p(z) is the log-sum-exp over components
(`vae.models.LatentModel.log_prior`); it replaces N(0, I) in the KL (then
estimated by Monte Carlo), the importance weights, sampling, and the grid of
`vae.exact`.

The hierarchy is a two-level VAE (Burda et al. 2016, arXiv:1509.00519, section
5; Sønderby et al. 2016, "Ladder Variational Autoencoders", arXiv:1602.02282):
a top code u ~ N(0, I) with as many dimensions as z, and p(z|u) a diagonal
Gaussian from a small network, so that

$$p(z) = \int p(z \mid u)\, p(u)\, du,$$

an infinite mixture with no closed form. Training uses a second encoder,
q(u|z), and the bound $\log p(z) \ge \mathbb{E}_{q(u \mid z)}[\log p(z \mid u)
+ \log p(u) - \log q(u \mid z)]$, one draw of u at a time (`log_density_sample`).
q(u|z) may read z alone: x and u are independent given z, so the true
posterior of u is p(u|z). For a code of one or two dimensions the integral
itself is taken on a grid over u (`log_density`), which the exact log p(x) of
`vae.exact` needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from vae import objectives
from vae.config import ModelConfig
from vae.families import Family, Posterior

# LOGVAR_LIMIT: the priors' log-variances are kept in the encoder's range.
from vae.networks import LOGVAR_LIMIT, mlp

Encode = Callable[[torch.Tensor], Family]  # images (K, *image_shape) -> q(z|x) of each


class _Mixture(nn.Module):
    """What the two mixtures share: log p(z) from their components."""

    def components(self, encode: Encode) -> tuple[Family, torch.Tensor]:
        raise NotImplementedError

    def log_density(self, z: torch.Tensor, encode: Encode) -> torch.Tensor:
        r"""$\log p(z) = \log \sum_k \exp(\log \pi_k + \log p_k(z))$ for codes (..., D): (...)."""
        components, log_weights = self.components(encode)  # K of them, (K,)
        log_pk = components.log_prob(z.unsqueeze(-2))  # (..., K)
        return torch.logsumexp(log_weights + log_pk, dim=-1)

    def log_density_sample(
        self, z: torch.Tensor, encode: Encode, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """log p(z) itself: a mixture needs no draw."""
        return self.log_density(z, encode)


class MixturePrior(_Mixture):
    """p(z) = sum_k softmax(logits)_k N(z; means_k, diag e^logvars_k), all learned."""

    def __init__(self, dim: int, components: int) -> None:
        super().__init__()
        self.means = nn.Parameter(torch.randn(components, dim))  # (K, D) spread like N(0, I)
        self.logvars = nn.Parameter(torch.zeros(components, dim))  # (K, D)
        self.logits = nn.Parameter(torch.zeros(components))  # (K,) equal weights to start

    def components(self, encode: Encode) -> tuple[Family, torch.Tensor]:
        """The K components as one family of K rows, and log pi_k: (K,)."""
        logvars = self.logvars.float().clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)
        return Posterior(self.means.float(), logvars), torch.log_softmax(self.logits.float(), 0)


PSEUDO_INIT_SCALE = 0.01  # spread of the pseudo-inputs' starting logits


class VampPrior(_Mixture):
    """p(z) = (1/K) sum_k q(z | u_k), with K learned pseudo-inputs u_k in (0, 1)."""

    def __init__(self, image_shape: tuple[int, ...], components: int) -> None:
        super().__init__()
        # Pixel logits: u = sigmoid(logits) stays a valid gray level whatever Adam does.
        # They start as near-uniform gray images, with a little noise to tell them
        # apart: Adam moves each logit by about its learning rate per step, so
        # pseudo-inputs started from noise of unit scale are still mostly noise
        # after the few hundred steps of a short run.
        self.pseudo_logits = nn.Parameter(PSEUDO_INIT_SCALE * torch.randn(components, *image_shape))

    def pseudo_inputs(self) -> torch.Tensor:
        """u_k, images with pixels in (0, 1): (K, *image_shape)."""
        return torch.sigmoid(self.pseudo_logits.float())

    def components(self, encode: Encode) -> tuple[Family, torch.Tensor]:
        """q(z|u_k) of every pseudo-input, and log(1/K) each: (K,)."""
        k = self.pseudo_logits.shape[0]
        log_weights = torch.full((k,), -math.log(k), device=self.pseudo_logits.device)
        return encode(self.pseudo_inputs()), log_weights


LAYER_HIDDEN = 128  # hidden width of the hierarchy's two small networks
TOP_BOX, TOP_STEP = 6.0, 0.2  # the grid over u of `HierarchicalPrior.log_density`
TOP_CHUNK = 1024  # codes z per pass of that grid; memory only


def _draw(p: Posterior, generator: torch.Generator | None) -> torch.Tensor:
    """One draw of a diagonal Gaussian, mu + sigma * eps (`vae.models.reparameterize`,
    which this module cannot import: the models import it)."""
    eps = torch.randn(p.mu.shape, generator=generator, device=p.mu.device, dtype=p.mu.dtype)
    return p.mu + torch.exp(0.5 * p.logvar) * eps


class GaussianLayer(nn.Module):
    """a -> N(mu(a), diag e^logvar(a)): one hidden layer, then a mean and a log-variance."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.body = mlp([dim_in, LAYER_HIDDEN])
        self.head = nn.Linear(LAYER_HIDDEN, 2 * dim_out)

    def forward(self, a: torch.Tensor) -> Posterior:
        mu, logvar = self.head(self.body(a)).float().chunk(2, dim=-1)
        return Posterior(mu, logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT))


class HierarchicalPrior(nn.Module):
    """p(z) = integral of p(z|u) N(u; 0, I) du, with q(u|z) to train it (see the module's text)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.down = GaussianLayer(dim, dim)  # p(z|u)
        self.up = GaussianLayer(dim, dim)  # q(u|z)

    def log_density_sample(
        self,
        z: torch.Tensor,
        encode: Encode | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """log p(z|u) + log p(u) - log q(u|z) at one u ~ q(u|z) per code: a
        lower-bound estimate of log p(z), for codes (..., D): (...). `encode` is not read."""
        q = self.up(z)
        u = _draw(q, generator)
        log_q = objectives.gaussian_log_density(u, q.mu, q.logvar)
        return self.down(u).log_prob(z) + objectives.gaussian_log_density(u) - log_q

    def top_kl(self, z: torch.Tensor) -> torch.Tensor:
        """KL(q(u|z) || N(0, I)), the top layer's rate, in closed form for codes (..., D): (...)."""
        q = self.up(z)
        return objectives.gaussian_kl(q.mu, q.logvar)

    def top_grid(self) -> tuple[torch.Tensor, float]:
        """The centres u_g of the grid over u, (G, D), and log of a cell's volume."""
        dim = self.up.head.out_features // 2
        if dim > 2:
            raise ValueError(
                f"p(z) of a {dim}-D top layer has no grid here (at most 2-D): "
                "bound it with log_density_sample"
            )
        device = self.up.head.weight.device
        axis = torch.arange(-TOP_BOX + TOP_STEP / 2, TOP_BOX, TOP_STEP, device=device)
        u = torch.cartesian_prod(*[axis] * dim).reshape(-1, dim)
        return u, dim * math.log(TOP_STEP)

    def log_density(self, z: torch.Tensor, encode: Encode | None = None) -> torch.Tensor:
        r"""log p(z) itself (`encode` is not read), by the midpoint rule on a grid over u,
        for codes (..., D) of one or two dimensions: (...), in z's dtype.

        The grid covers [-6, 6]^D, where N(0, I) has a density of e^-18 or less
        at the edge, in cells of side 0.2: accurate while p(u|z) is wider than a
        cell, which figures/hierarchy.py checks against importance sampling with
        q(u|z). Each log p(z|u_g) is quadratic in z, so one matrix product gives
        them all: $\log p(z \mid u_g) = \phi(z) \cdot c_g$ with
        $\phi(z) = (z^2, z, 1)$ and $c_g$ from the mean and variance of p(z|u_g).
        """
        u, log_cell = self.top_grid()
        down = self.down(u)  # p(z|u_g), (G, D) each
        mu, logvar = down.mu.to(z.dtype), down.logvar.to(z.dtype)
        a = torch.exp(-logvar)  # 1 / sigma^2, (G, D)
        constant = -0.5 * (objectives.LOG_2PI + logvar + mu.square() * a).sum(1)  # (G,)
        constant = constant + objectives.gaussian_log_density(u).to(z.dtype) + log_cell
        coefficients = torch.cat([-0.5 * a, mu * a, constant[:, None]], dim=1).T  # (2D + 1, G)
        flat = z.reshape(-1, z.shape[-1])
        pieces = [
            torch.logsumexp(
                torch.cat([part.square(), part, torch.ones_like(part[:, :1])], 1) @ coefficients,
                dim=1,
            )
            for part in flat.split(TOP_CHUNK)
        ]
        return torch.cat(pieces).view(z.shape[:-1])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes z drawn by ancestral sampling, u ~ N(0, I) then z ~ p(z|u): (n, D)."""
        device = self.up.head.weight.device
        dim = self.up.head.out_features // 2
        u = torch.randn((n, dim), generator=generator, device=device)
        return _draw(self.down(u), generator)


Prior = MixturePrior | VampPrior | HierarchicalPrior


def build_prior(config: ModelConfig) -> Prior | None:
    """The learned prior a config asks for; None for N(0, I)."""
    if config.prior == "hierarchy":
        return HierarchicalPrior(config.latent_dim)
    if config.prior == "mixture":
        return MixturePrior(config.latent_dim, config.prior_components)
    if config.prior == "vamp":
        return VampPrior(config.image_shape, config.prior_components)
    return None


class GaussianFit(NamedTuple):
    """A density over a 2-D code against the Gaussian closest to it."""

    mass: float  # the density's mass on the grid: near 1 if the grid holds it
    mean: torch.Tensor  # (2,), float64
    covariance: torch.Tensor  # (2, 2), float64
    kl: float  # KL(p || N(mean, covariance)), nats
    outside: float  # p's mass outside that Gaussian's ellipse of mass `share`


def closest_gaussian(
    log_density: Callable[[torch.Tensor], torch.Tensor],
    box: float = 14.0,
    step: float = 0.1,
    share: float = 0.99,
) -> GaussianFit:
    r"""How far a density p over a 2-D code is from being Gaussian, by the midpoint
    rule on a grid over [-box, box]^2.

    Of all Gaussians q, the one with p's own mean and covariance minimises
    KL(p || q) (matching moments is the projection of p onto the Gaussians in
    that direction), so that KL is p's distance from the Gaussian family. The
    mass of p outside the fitted Gaussian's ellipse of mass `share` says which
    way it differs: more than 1 - share means heavier tails.

    Args:
        log_density: log p(z) of codes (N, 2) in float64, as (N,).
    """
    axis = -box + step * (torch.arange(round(2 * box / step), dtype=torch.float64) + 0.5)
    z = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        log_p = torch.cat([log_density(part) for part in z.split(TOP_CHUNK * 16)]).double()
    p = torch.exp(log_p) * step**2
    mass = float(p.sum())
    mean = (p[:, None] * z).sum(0) / mass
    d = z - mean
    covariance = (p[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0) / mass
    fitted = torch.distributions.MultivariateNormal(mean, covariance)
    kl = float((p * (log_p - fitted.log_prob(z))).sum() / mass)
    squared = (d @ torch.linalg.inv(covariance) * d).sum(1)  # Mahalanobis distance^2
    outside = float(p[squared > -2 * math.log(1 - share)].sum() / mass)
    return GaussianFit(mass, mean, covariance, kl, outside)
