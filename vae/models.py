"""The three models of the article: an autoencoder, an autoencoder with fixed
noise and a KL penalty (which is *not* a VAE), and the variational autoencoder.

All three share one multilayer-perceptron encoder and decoder. They differ only
in what the encoder outputs and how a code z is drawn from it:

    Autoencoder        z = mu(x)
    NoisyAutoencoder   z = mu(x) + sigma * eps,        sigma fixed,  eps ~ N(0, I)
    VAE                z = mu(x) + sigma(x) * eps,     sigma learned

The last line is the reparameterization trick of Kingma & Welling (2013),
"Auto-Encoding Variational Bayes", arXiv:1312.6114.

The encoder and decoder return float32 even when their linear layers run in
bfloat16 under `torch.autocast`, so that every likelihood, KL and sum is
computed in float32.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import torch
from torch import nn

from vae import objectives
from vae.config import ModelConfig

# exp(logvar) overflows float32 above about 88; a learned log-variance is kept
# well inside that range so that extreme inputs cannot produce inf or NaN.
LOGVAR_LIMIT = 30.0
# Codes decoded at once when importance sampling: the pixels of this many images
# (6 MB in float32) stay in a CPU's cache between the decoder and the likelihood.
DECODE_ROWS = 2000


class Posterior(NamedTuple):
    """Parameters of q(z|x): a mean and a log-variance (None for a point mass)."""

    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor | None  # (B, D)


class Terms(NamedTuple):
    """The two terms of the objective, one value per example."""

    log_px_given_z: torch.Tensor  # (B,) one-sample estimate of E_q[log p(x|z)]
    kl: torch.Tensor  # (B,) KL(q(z|x) || p(z)); zero for the autoencoder


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given sizes, with a ReLU after each."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """x -> (mu, logvar): a shared body and one linear head per output."""

    def __init__(self, config: ModelConfig, learn_logvar: bool) -> None:
        super().__init__()
        widths = [config.data_dim, *config.hidden_sizes]
        self.body = mlp(widths)
        self.mean = nn.Linear(widths[-1], config.latent_dim)
        self.logvar = nn.Linear(widths[-1], config.latent_dim) if learn_logvar else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.body(x.flatten(start_dim=1))  # (B, H)
        mu = self.mean(h).float()  # (B, D)
        if self.logvar is None:
            return mu, None
        return mu, self.logvar(h).float().clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)


class Decoder(nn.Module):
    """z -> the parameters of p(x|z), shaped like an image."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        widths = [config.latent_dim, *reversed(config.hidden_sizes)]
        self.body = mlp(widths)
        self.output = nn.Linear(widths[-1], config.data_dim)
        self.image_shape = config.image_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.output(self.body(z)).float()  # (B, data_dim)
        return out.view(-1, *self.image_shape)


# --8<-- [start:reparameterize]
def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample of N(mu, sigma^2) that is
    a differentiable function of mu and logvar."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


# --8<-- [end:reparameterize]


class LatentModel(nn.Module):
    """What the three models share: the networks, the likelihood and sampling."""

    def __init__(self, config: ModelConfig, learn_logvar: bool) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config, learn_logvar)
        self.decoder = Decoder(config)

    # -- q(z|x) -------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> Posterior:
        """The parameters of q(z|x) for a batch of images x of shape (B, *image_shape)."""
        mu, logvar = self.encoder(x)
        return Posterior(mu, logvar)

    def sample_posterior(
        self, posterior: Posterior, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """One z per example from q(z|x)."""
        if posterior.logvar is None:
            return posterior.mu
        return reparameterize(posterior.mu, posterior.logvar, generator)

    def kl(self, posterior: Posterior) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per example."""
        if posterior.logvar is None:
            return torch.zeros(posterior.mu.shape[0], device=posterior.mu.device)
        return objectives.gaussian_kl(posterior.mu, posterior.logvar)

    # -- p(x|z) -------------------------------------------------------------
    def likelihood_params(self, z: torch.Tensor) -> torch.Tensor:
        """The parameters of p(x|z) for codes z of shape (B, D), shaped like images:
        Bernoulli logits, or the means of the Gaussian likelihood."""
        out = self.decoder(z)
        if self.config.likelihood == "gaussian":
            return torch.sigmoid(out)
        return out

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The mean image E[x|z], with pixels in [0, 1]."""
        params = self.likelihood_params(z)
        return torch.sigmoid(params) if self.config.likelihood == "bernoulli" else params

    def log_likelihood(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per example, from the parameters `likelihood_params(z)` returns."""
        if self.config.likelihood == "bernoulli":
            return objectives.bernoulli_log_likelihood(x, params)
        logvar = 2.0 * math.log(self.config.observation_sigma)
        return objectives.gaussian_log_density(x, params, logvar, event_dims=x.dim() - 1)

    # -- the objective ------------------------------------------------------
    # --8<-- [start:terms]
    def terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> Terms:
        """One-sample estimates of log p(x|z) and KL(q(z|x) || p(z)) per example."""
        posterior = self.encode(x)
        z = self.sample_posterior(posterior, generator)
        return Terms(self.log_likelihood(x, self.likelihood_params(z)), self.kl(posterior))

    # --8<-- [end:terms]

    def log_weights(
        self,
        x: torch.Tensor,
        k: int,
        generator: torch.Generator | None = None,
        posterior: Posterior | None = None,
    ) -> torch.Tensor:
        """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k samples z_i ~ q(z|x).

        Each sample's noise is one draw of shape (B, D) from `generator`, so k
        samples taken in chunks are the same samples as k taken at once.

        Args:
            x: images, shape (B, *image_shape).
            k: number of samples per image.
            generator: the source of the noise.
            posterior: `encode(x)`, when the caller already has it.

        Returns:
            Tensor of shape (k, B).
        """
        log_px_given_z, log_pz, log_qz = self._log_densities(x, k, generator, posterior)
        return log_px_given_z + log_pz - log_qz

    def sample_terms(
        self,
        x: torch.Tensor,
        k: int,
        generator: torch.Generator | None = None,
        posterior: Posterior | None = None,
    ) -> Terms:
        """log p(x|z_i) and log q(z_i|x) - log p(z_i) at k samples z_i ~ q(z|x): each (k, B).

        The second is the one-sample estimate of the KL divergence at z_i, so
        their difference is log w_i, the same draws as `log_weights` takes from
        the same generator.
        """
        log_px_given_z, log_pz, log_qz = self._log_densities(x, k, generator, posterior)
        return Terms(log_px_given_z, log_qz - log_pz)

    def _log_densities(
        self,
        x: torch.Tensor,
        k: int,
        generator: torch.Generator | None,
        posterior: Posterior | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log p(x|z_i), log p(z_i) and log q(z_i|x) for k samples z_i ~ q(z|x): each (k, B)."""
        posterior = self.encode(x) if posterior is None else posterior
        if posterior.logvar is None:
            raise ValueError("a deterministic encoder has no density q(z|x): no IWAE bound")
        mu, logvar = posterior
        batch = x.shape[0]
        z = torch.stack([reparameterize(mu, logvar, generator) for _ in range(k)])  # (k, B, D)
        # Decoded a few samples at a time: each piece's logits are still in the
        # cache when the likelihood reads them (40% faster on a CPU, same numbers).
        step = max(1, DECODE_ROWS // batch)
        log_px_given_z = torch.cat(
            [
                self.log_likelihood(
                    x, self.likelihood_params(part.flatten(end_dim=1)).view(-1, *x.shape)
                )
                for part in z.split(step)
            ]
        )  # (k, B)
        log_pz = objectives.gaussian_log_density(z)  # (k, B): the prior N(0, I)
        log_qz = objectives.gaussian_log_density(z, mu, logvar)
        return log_px_given_z, log_pz, log_qz

    @torch.no_grad()
    def reconstruction_term(
        self,
        x: torch.Tensor,
        samples: int,
        generator: torch.Generator | None = None,
        posterior: Posterior | None = None,
    ) -> torch.Tensor:
        """E_q[log p(x|z)] per example, the mean over `samples` draws z ~ q(z|x): (B,)."""
        posterior = self.encode(x) if posterior is None else posterior
        total = torch.zeros(x.shape[0], device=x.device)
        for _ in range(samples):
            z = self.sample_posterior(posterior, generator)
            total += self.log_likelihood(x, self.likelihood_params(z))
        return total / samples

    # -- generation ---------------------------------------------------------
    @torch.no_grad()
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean images decoded from n codes drawn from the prior N(0, I)."""
        device = next(self.parameters()).device
        z = torch.randn((n, self.config.latent_dim), generator=generator, device=device)
        return self.decode_mean(z)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean images decoded from the mean code of each input."""
        return self.decode_mean(self.encode(x).mu)


class Autoencoder(LatentModel):
    """A deterministic autoencoder: z = mu(x), trained on reconstruction alone."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, learn_logvar=False)


class NoisyAutoencoder(LatentModel):
    """An autoencoder with Gaussian noise of a fixed sigma added to z and a KL
    penalty pulling the codes towards N(0, I). It looks like a VAE, but sigma is
    not learned."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, learn_logvar=False)
        self.register_buffer(
            "noise_logvar", torch.tensor(2.0 * math.log(config.noise_sigma)), persistent=False
        )

    def encode(self, x: torch.Tensor) -> Posterior:
        mu, _ = self.encoder(x)
        return Posterior(mu, self.noise_logvar.expand_as(mu))


class VAE(LatentModel):
    """The variational autoencoder: the encoder outputs both mean and log-variance."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, learn_logvar=True)


def build_model(config: ModelConfig) -> LatentModel:
    """The model a config describes, freshly initialised."""
    classes = {"ae": Autoencoder, "noisy-ae": NoisyAutoencoder, "vae": VAE}
    return classes[config.kind](config)
