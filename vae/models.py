"""The three models of the article: an autoencoder, an autoencoder with fixed
noise and a KL penalty (which is *not* a VAE), and the variational autoencoder.

All three share one multilayer-perceptron encoder and decoder. They differ only
in what the encoder outputs and how a code z is drawn from it:

    Autoencoder        z = mu(x)
    NoisyAutoencoder   z = mu(x) + sigma * eps,        sigma fixed,  eps ~ N(0, I)
    VAE                z = mu(x) + sigma(x) * eps,     sigma learned

The last line is the reparameterization trick of Kingma & Welling (2013),
"Auto-Encoding Variational Bayes", arXiv:1312.6114. The VAE's q(z|x) can also
be a Gaussian with a full covariance or a normalizing flow (`vae.families`),
each a map of that diagonal Gaussian, so the trick samples all of them; its
prior p(z) can be learned (`vae.priors`), and its decoder autoregressive
(`vae.networks`, whose networks return float32 even under bfloat16 autocast).
The VQ-VAE, whose code is discrete, builds on `LatentModel` in `vae.vq`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from vae import objectives
from vae.config import ModelConfig
from vae.families import Family, FlowPosterior, FullCovariance, Posterior, lower_triangle
from vae.flows import CouplingFlow
from vae.networks import LOGVAR_LIMIT as LOGVAR_LIMIT  # figures/explorer.py reads it here
from vae.networks import AutoregressiveDecoder, Encoder, build_decoder
from vae.priors import HierarchicalPrior, Prior, build_prior

# Codes decoded at once when importance sampling: the pixels of this many images
# (6 MB in float32) stay in a CPU's cache between the decoder and the likelihood.
DECODE_ROWS = 2000


class Terms(NamedTuple):
    """The two terms of the objective, one value per example."""

    log_px_given_z: torch.Tensor  # (B,) one-sample estimate of E_q[log p(x|z)]
    kl: torch.Tensor  # (B,) KL(q(z|x) || p(z)); zero for the autoencoder
    kl_per_dimension: torch.Tensor | None = None  # (B, D) its terms, where they have a closed form


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
    """What every model shares: the networks, the prior, the likelihood and sampling."""

    def __init__(self, config: ModelConfig, learn_logvar: bool) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config, learn_logvar)
        self.decoder = build_decoder(config)
        self.prior: Prior | None = None  # None: p(z) = N(0, I)
        self.log_sigma = None  # log sigma of p(x|z), learned for "gaussian-learned"
        if config.likelihood == "gaussian-learned":  # one sigma for every pixel (sigma-VAE)
            self.log_sigma = nn.Parameter(torch.tensor(math.log(config.observation_sigma)))

    # -- q(z|x) -------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> Family:
        """q(z|x) for a batch of images x of shape (B, *image_shape): a
        `Posterior` (mu, logvar) unless the VAE's config asks for a richer family."""
        mu, logvar = self.encoder(x)
        return Posterior(mu, logvar)

    def sample_codes(
        self, posterior: Family, generator: torch.Generator | None = None, k: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Codes z ~ q(z|x) and log q(z|x) at each: (B, D) and (B,), or with k
        given, k codes per example, (k, B, D) and (k, B). A point mass has no log q (None).

        Each code's noise is one draw of shape (B, D) from `generator`, so k codes
        drawn in chunks are the same codes as k drawn at once.
        """
        base = posterior.base
        if base.logvar is None:
            return (base.mu if k is None else base.mu.expand(k, *base.mu.shape)), None
        z0 = torch.stack(
            [reparameterize(base.mu, base.logvar, generator) for _ in range(k or 1)]
        )  # (k, B, D)
        z, log_det = posterior.push(z0)  # z = f(z0), the family's map
        log_qz = objectives.gaussian_log_density(z0, base.mu, base.logvar) - log_det
        return (z[0], log_qz[0]) if k is None else (z, log_qz)

    def sample_posterior(
        self, posterior: Family, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """One z per example from q(z|x): (B, D)."""
        return self.sample_codes(posterior, generator)[0]

    def kl(
        self,
        posterior: Family,
        z: torch.Tensor | None = None,
        log_qz: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """KL(q(z|x) || p(z)) per example: in closed form when q is Gaussian and
        p(z) is N(0, I) (zero for a point mass); otherwise log q(z|x) - log p(z) at
        a code z ~ q with log q(z|x) `log_qz`, log p(z) from `log_prior_sample`.

        Raises:
            ValueError: there is no closed form and no code was given.
        """
        closed_form = posterior.standard_normal_kl() if self.prior is None else None
        if closed_form is not None:
            return closed_form
        if z is None or log_qz is None:
            raise ValueError("this KL has no closed form: pass a code z ~ q(z|x) and log q(z|x)")
        return log_qz - self.log_prior_sample(z, generator)

    def kl_per_dimension(self, posterior: Family) -> torch.Tensor | None:
        """KL(q(z_j|x) || N(0, 1)) of each coordinate j: (B, D), for a diagonal
        Gaussian q and the normal prior; None where the KL does not split so."""
        if self.prior is not None or not isinstance(posterior, Posterior):
            return None
        if posterior.logvar is None:
            return None
        return objectives.gaussian_kl_per_dimension(posterior.mu, posterior.logvar)

    # -- p(z) ---------------------------------------------------------------
    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) for codes z of shape (..., D): (...). The standard normal, or a
        learned prior's density (`vae.priors`; a hierarchy's is taken on a grid)."""
        if self.prior is None:
            return objectives.gaussian_log_density(z)
        return self.prior.log_density(z, self.encode)

    def log_prior_sample(
        self, z: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """log p(z), or for a hierarchy one draw of its bound (what training and the
        bounds use, so that the top code u is drawn jointly with z): (...)."""
        if self.prior is None:
            return objectives.gaussian_log_density(z)
        return self.prior.log_density_sample(z, self.encode, generator)

    def sample_codes_from_prior(
        self, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """n codes drawn from the prior: (n, D). A mixture's component first, then its code."""
        device = next(self.parameters()).device
        if self.prior is None:
            return torch.randn((n, self.config.latent_dim), generator=generator, device=device)
        if isinstance(self.prior, HierarchicalPrior):
            return self.prior.sample(n, generator)
        components, log_weights = self.prior.components(self.encode)
        index = torch.multinomial(log_weights.exp(), n, replacement=True, generator=generator)
        return self.sample_codes(components.select(index), generator)[0]

    # -- p(x|z) -------------------------------------------------------------
    def likelihood_params(self, z: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """The parameters of p(x|z) for codes z of shape (B, D), shaped like images:
        Bernoulli logits (an autoregressive decoder's need the B images x), or Gaussian means."""
        out = self.decoder(z, x)
        if self.config.likelihood == "bernoulli":
            return out
        return torch.sigmoid(out)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The mean image E[x|z], with pixels in [0, 1]; an autoregressive decoder has none."""
        params = self.likelihood_params(z)
        return torch.sigmoid(params) if self.config.likelihood == "bernoulli" else params

    def decode(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images of codes z: the mean E[x|z], or an autoregressive decoder's draw of x."""
        if isinstance(self.decoder, AutoregressiveDecoder):
            return self.decoder.sample(z, generator)[0]
        return self.decode_mean(z)

    def log_likelihood(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per example, from the parameters `likelihood_params(z)` returns."""
        if self.config.likelihood == "bernoulli":
            return objectives.bernoulli_log_likelihood(x, params)
        logvar = self.observation_logvar()
        return objectives.gaussian_log_density(x, params, logvar, event_dims=x.dim() - 1)

    def observation_logvar(self) -> float | torch.Tensor:
        """log sigma^2 of a Gaussian p(x|z): the config's, or the learned one (a scalar)."""
        if self.log_sigma is None:
            return 2.0 * math.log(self.config.observation_sigma)
        return 2.0 * self.log_sigma.float()

    # -- the objective ------------------------------------------------------
    # --8<-- [start:terms]
    def terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> Terms:
        """One-sample estimates of log p(x|z) and KL(q(z|x) || p(z)) per example."""
        posterior = self.encode(x)
        z, log_qz = self.sample_codes(posterior, generator)  # one code per example
        log_px_given_z = self.log_likelihood(x, self.likelihood_params(z, x))
        kl = self.kl(posterior, z, log_qz, generator)
        return Terms(log_px_given_z, kl, self.kl_per_dimension(posterior))

    # --8<-- [end:terms]

    def log_weights(
        self,
        x: torch.Tensor,
        k: int,
        generator: torch.Generator | None = None,
        posterior: Posterior | None = None,
    ) -> torch.Tensor:
        """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k samples z_i ~ q(z|x)
        (k samples taken in chunks are those taken at once: see `sample_codes`).

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
        """log p(x|z_i) and log q(z_i|x) - log p(z_i) (the one-sample KL) at k samples
        z_i ~ q(z|x), each (k, B): their difference is `log_weights` of the same draws."""
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
        z, log_qz = self.sample_codes(posterior, generator, k)  # (k, B, D), (k, B)
        if log_qz is None:
            raise ValueError("a deterministic encoder has no density q(z|x): no IWAE bound")
        # Decoded a few samples at a time: each piece's logits are still in the
        # cache when the likelihood reads them (40% faster on a CPU, same numbers).
        step = max(1, DECODE_ROWS // x.shape[0])
        pieces = []
        for part in z.split(step):  # (s, B, D); an autoregressive decoder reads x with each code
            params = self.likelihood_params(part.flatten(end_dim=1), x.expand(len(part), *x.shape))
            pieces.append(self.log_likelihood(x, params.view(-1, *x.shape)))  # (s, B)
        return torch.cat(pieces), self.log_prior_sample(z, generator), log_qz

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
            total += self.log_likelihood(x, self.likelihood_params(z, x))
        return total / samples

    # -- generation ---------------------------------------------------------
    @torch.no_grad()
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images `decode`d from n codes drawn from the prior p(z), all draws from `generator`."""
        return self.decode(self.sample_codes_from_prior(n, generator), generator)

    @torch.no_grad()
    def reconstruct(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Images `decode`d from the central code (the mean for a Gaussian q) of each input."""
        return self.decode(self.encode(x).mu, generator)


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
    """The variational autoencoder: the encoder outputs both mean and log-variance,
    of q(z|x) itself or of the diagonal Gaussian a richer q starts from."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, learn_logvar=True)
        self.flow = None
        if config.posterior == "flow":
            features = config.hidden_sizes[-1] if config.hidden_sizes else config.data_dim
            self.flow = CouplingFlow(config.latent_dim, features, config.flow_layers)
        self.prior = build_prior(config)

    def encode(self, x: torch.Tensor) -> Family:
        h = self.encoder.features(x)  # (B, H)
        base = Posterior(*self.encoder.gaussian(h))
        if self.encoder.lower is not None:
            lower = lower_triangle(self.encoder.lower(h).float(), self.config.latent_dim)
            return FullCovariance(base, lower)
        if self.flow is not None:
            return FlowPosterior(base, self.flow, self.flow.condition(h))
        return base


def build_model(config: ModelConfig) -> LatentModel:
    """The model a config describes, freshly initialised."""
    if config.kind == "vq-vae":
        from vae.vq import VQVAE  # imported here: vae.vq builds on this module

        return VQVAE(config)
    classes = {"ae": Autoencoder, "noisy-ae": NoisyAutoencoder, "vae": VAE}
    return classes[config.kind](config)
