r"""Learned priors p(z): a mixture of Gaussians, and the VampPrior.

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
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from vae.config import ModelConfig
from vae.families import Family, Posterior
from vae.networks import LOGVAR_LIMIT  # the mixture's log-variances kept as the encoder's are

Encode = Callable[[torch.Tensor], Family]  # images (K, *image_shape) -> q(z|x) of each


class MixturePrior(nn.Module):
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


class VampPrior(nn.Module):
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


def build_prior(config: ModelConfig) -> MixturePrior | VampPrior | None:
    """The learned prior a config asks for; None for N(0, I)."""
    if config.prior == "mixture":
        return MixturePrior(config.latent_dim, config.prior_components)
    if config.prior == "vamp":
        return VampPrior(config.image_shape, config.prior_components)
    return None
