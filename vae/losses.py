r"""The loss of one training batch, for each objective the trainer offers.

Each loss is a function of a model, a batch and the noise, and returns the
scalar the optimiser minimises together with the two terms of the ELBO per
example, which the trainer reports whatever it optimises:

    elbo   loss = mean over the batch of -(log p(x|z) - beta * KL(q(z|x) || p(z)))
           with free bits: -(mean of log p(x|z) - beta * sum_j max(lambda, mean of KL_j))
    iwae   loss = mean over the batch of -L_k,   L_k = log (1/k) sum_i w_i
    vq-vae loss = mean over the batch of -log p(x|z_q) + codebook + commitment * commitment term

The trainer chooses beta for each epoch (`vae.config.TrainConfig.beta_at`: KL
annealing).

Every term is summed over pixels and latent dimensions, and only the batch is
averaged (`vae.objectives`).

References:
    Burda, Grosse & Salakhutdinov (2015), "Importance Weighted Autoencoders",
    arXiv:1509.00519.
    van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete Representation
    Learning", arXiv:1711.00937.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from vae import objectives
from vae.config import TrainConfig
from vae.models import LatentModel, Terms
from vae.vq import VQVAE


class Loss(NamedTuple):
    """What one batch gives the trainer."""

    loss: torch.Tensor  # () the scalar the optimiser minimises
    terms: Terms  # (B,) each: log p(x|z) and KL(q(z|x) || p(z)), for the history


def elbo_loss(
    model: LatentModel,
    x: torch.Tensor,
    beta: float,
    generator: torch.Generator | None = None,
    free_bits: float = 0.0,
) -> Loss:
    """Minus the beta-weighted ELBO, one code per example, averaged over the batch;
    with free bits, each latent dimension's mean KL counts as at least `free_bits`
    nats (`vae.objectives.free_bits_kl`)."""
    # --8<-- [start:elbo_loss]
    terms = model.terms(x, generator)  # per example: log p(x|z) summed over pixels, KL over z
    if not free_bits:
        return Loss(-objectives.elbo(terms.log_px_given_z, terms.kl, beta).mean(), terms)
    # --8<-- [end:elbo_loss]
    if terms.kl_per_dimension is None:
        raise ValueError("free bits need the KL of each latent dimension, which this q lacks")
    kl = objectives.free_bits_kl(terms.kl_per_dimension, free_bits)
    return Loss(-(terms.log_px_given_z.mean() - beta * kl), terms)


def iwae_loss(
    model: LatentModel, x: torch.Tensor, k: int, generator: torch.Generator | None = None
) -> Loss:
    r"""Minus the importance-weighted bound $\mathcal{L}_k$, averaged over the batch.

    Its gradient is the reparameterized gradient of $\mathcal{L}_k$: each code's
    gradient weighted by its normalised weight $w_i / \sum_j w_j$ (Burda et al.,
    eq. 14). With k = 1 it is minus the ELBO, its KL estimated at the one code.
    The terms reported are the means over the k codes of log p(x|z_i) and of
    log q(z_i|x) - log p(z_i): estimates of the ELBO's two terms.
    """
    terms = model.sample_terms(x, k, generator)  # (k, B) each
    log_weights = terms.log_px_given_z - terms.kl  # log w_i = log p(x, z_i) - log q(z_i|x)
    loss = -objectives.iwae_bound(log_weights).mean()
    return Loss(loss, Terms(terms.log_px_given_z.mean(0), terms.kl.mean(0)))


def vq_loss(model: VQVAE, x: torch.Tensor, commitment: float) -> Loss:
    """The VQ-VAE's loss: minus log p(x | z_q), plus the codebook term, plus
    `commitment` times the commitment term, averaged over the batch (`vae.vq`)."""
    t = model.vq_terms(x)
    loss = (-t.log_px_given_z + t.codebook_loss + commitment * t.commitment_loss).mean()
    return Loss(loss, Terms(t.log_px_given_z, t.kl))


def batch_loss(
    model: LatentModel,
    x: torch.Tensor,
    settings: TrainConfig,
    beta: float,
    generator: torch.Generator | None = None,
) -> Loss:
    """The loss `settings.objective` names, for one batch.

    Args:
        model: the model being trained.
        x: the batch, shape (B, *image_shape).
        settings: the objective and its settings.
        beta: the KL weight of this epoch (`vae.config.TrainConfig.beta_at`).
        generator: the source of the noise on z.
    """
    if isinstance(model, VQVAE):
        return vq_loss(model, x, settings.commitment)
    if settings.objective == "iwae":
        return iwae_loss(model, x, settings.k, generator)
    return elbo_loss(model, x, beta, generator, settings.free_bits)
