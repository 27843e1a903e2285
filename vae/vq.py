r"""The VQ-VAE: a discrete code, the nearest of K learned codebook vectors.

van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete Representation
Learning", arXiv:1711.00937. The encoder's output $z_e(x)$ is cut into
`code_groups` vectors, and each is replaced by the nearest vector of one shared
codebook $e_1, \dots, e_K$:

$$z_q = e_{k^*}, \qquad k^* = \arg\min_k \|z_e - e_k\|^2.$$

The arg-min has no gradient, so the decoder's gradient with respect to $z_q$ is
copied to $z_e$ (the straight-through estimator): $z = z_e + \operatorname{sg}[z_q - z_e]$
equals $z_q$ in value and $z_e$ in gradient. The codebook learns from its own
term, and a commitment term keeps the encoder near the codes it picks:

$$\mathrm{loss} = -\log p(x \mid z_q) + \|\operatorname{sg}[z_e] - z_q\|^2
+ \beta_c\, \|z_e - \operatorname{sg}[z_q]\|^2.$$

The paper's beta_c is 0.25, for a reconstruction term of a smaller scale than
log p(x|z) summed over 784 pixels in nats; at 0.25 the encoder's outputs run
away from the codes here, and after 10 epochs of the 2-D model on the embedded
digits 26 of 64 codes were unused, against 2 at the default of 1 (which also
reconstructed 7 nats better).

With a uniform prior over codes and q(z|x) one code with probability 1, the
KL divergence is the constant $M \log K$ for M groups, so the ELBO is
$\log p(x \mid z_q) - M \log K$: the history reports that, and the KL has no
gradient. `perplexity` and `dead_codes` say how much of the codebook is used.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from vae.config import ModelConfig
from vae.families import Posterior
from vae.models import LatentModel, Terms


class Quantized(NamedTuple):
    """A batch of codes replaced by their nearest codebook vectors."""

    z: torch.Tensor  # (B, D) z_q in value, z_e in gradient: what the decoder reads
    indices: torch.Tensor  # (B, M) the chosen codebook vector of each group
    codebook_loss: torch.Tensor  # (B,) ||sg[z_e] - z_q||^2, summed over dimensions
    commitment_loss: torch.Tensor  # (B,) ||z_e - sg[z_q]||^2


def nearest(z_e: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """The index of the nearest codebook vector (K, d) to each row of z_e (N, d): (N,)."""
    # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2, and ||z||^2 does not change the arg-min.
    distances = codebook.square().sum(1) - 2 * z_e @ codebook.T  # (N, K)
    return distances.argmin(dim=1)


def straight_through(z_e: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """z_q in value, with the gradient passed to z_e unchanged: z_e + sg[z_q - z_e]."""
    return z_e + (z_q - z_e).detach()


def quantize(z_e: torch.Tensor, codebook: torch.Tensor, groups: int) -> Quantized:
    """Each of the `groups` pieces of every z_e (B, D) replaced by its nearest codebook vector."""
    batch = z_e.shape[0]
    pieces = z_e.reshape(batch * groups, -1)  # (B M, d)
    indices = nearest(pieces.detach(), codebook)
    z_q = codebook[indices].view_as(z_e)  # (B, D)
    return Quantized(
        z=straight_through(z_e, z_q),
        indices=indices.view(batch, groups),
        codebook_loss=(z_e.detach() - z_q).square().sum(dim=1),
        commitment_loss=(z_e - z_q.detach()).square().sum(dim=1),
    )


def perplexity(indices: torch.Tensor, codebook_size: int) -> float:
    r"""exp of the entropy of the codes' frequencies: K when every code is used
    equally, 1 when one code takes everything. $\exp(-\sum_k f_k \log f_k)$."""
    counts = torch.bincount(indices.flatten(), minlength=codebook_size).double()
    frequencies = counts / counts.sum()
    entropy = -(frequencies * torch.log(frequencies.clamp(min=1e-300))).sum()
    return math.exp(entropy.item())


def dead_codes(indices: torch.Tensor, codebook_size: int) -> int:
    """How many codebook vectors no code chose."""
    counts = torch.bincount(indices.flatten(), minlength=codebook_size)
    return int((counts == 0).sum())


class VQTerms(NamedTuple):
    """The VQ-VAE's loss terms, one value per example."""

    log_px_given_z: torch.Tensor  # (B,) log p(x | z_q)
    codebook_loss: torch.Tensor  # (B,)
    commitment_loss: torch.Tensor  # (B,)
    kl: torch.Tensor  # (B,) the constant M log K


class VQVAE(LatentModel):
    """An encoder to z_e, a codebook that quantises it, a decoder of z_q."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, learn_logvar=False)
        code_dim = config.latent_dim // config.code_groups
        # Spread as N(0, I), wider than an untrained encoder's outputs: a codebook as
        # narrow as those leaves all but a few codes unpicked, and they stay unused.
        self.codebook = nn.Parameter(torch.randn(config.codebook_size, code_dim))  # (K, d)

    def quantize(self, x: torch.Tensor) -> Quantized:
        """z_e(x) quantised: (B, D) codes, their indices and the codebook terms."""
        z_e = self.encode(x).mu  # (B, D)
        return quantize(z_e, self.codebook.float(), self.config.code_groups)

    def vq_terms(self, x: torch.Tensor) -> VQTerms:
        """log p(x | z_q) and the two codebook terms of a batch, per example."""
        q = self.quantize(x)
        log_px_given_z = self.log_likelihood(x, self.likelihood_params(q.z))
        kl = torch.full_like(log_px_given_z, self.config.code_groups * math.log(len(self.codebook)))
        return VQTerms(log_px_given_z, q.codebook_loss, q.commitment_loss, kl)

    def terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> Terms:
        """log p(x | z_q) and the KL, the constant M log K: no noise is drawn."""
        t = self.vq_terms(x)
        return Terms(t.log_px_given_z, t.kl)

    def sample_codes_from_prior(
        self, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """n codes of the uniform prior: each group's codebook vector drawn at random."""
        size, groups = self.config.codebook_size, self.config.code_groups
        device = self.codebook.device
        indices = torch.randint(size, (n * groups,), generator=generator, device=device)
        return self.codebook.float()[indices].view(n, -1)

    @torch.no_grad()
    def reconstruction_term(
        self,
        x: torch.Tensor,
        samples: int = 1,
        generator: torch.Generator | None = None,
        posterior: Posterior | None = None,
    ) -> torch.Tensor:
        """log p(x | z_q) per example: the code is not drawn, so one evaluation is the mean."""
        return self.vq_terms(x).log_px_given_z

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean images decoded from each input's quantised code."""
        return self.decode_mean(self.quantize(x).z)

    def encode(self, x: torch.Tensor) -> Posterior:
        """z_e(x), as a point mass: the VQ-VAE's q is one code, with no density."""
        mu, _ = self.encoder(x)
        return Posterior(mu, None)
