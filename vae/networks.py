"""The networks every model shares: a multilayer-perceptron encoder and a
decoder that mirrors it, or an autoregressive decoder built on that one; or,
with `network="conv"`, a small convolutional encoder and decoder (two stride-2
convolutions down, a linear layer and two stride-2 transposed convolutions up),
the kind of first stage latent diffusion trains, at this scale.

The encoder's body turns an image into features h; linear heads turn h into
the mean and log-variance of q(z|x), and, for a full covariance, the entries
below the diagonal of its Cholesky factor (`vae.families.FullCovariance`).
Both networks return float32 even when their linear layers run in bfloat16
under `torch.autocast`, so that every likelihood, KL and sum is computed in
float32.

The autoregressive decoder is a fully visible sigmoid belief net (Frey 1998,
"Graphical Models for Machine Learning and Digital Communication") conditioned
on z: the logit of pixel p adds to the MLP decoder's a linear map of the pixels
before p in raster order. Such a decoder can model the digits without z, and so
can leave z unused: posterior collapse (Bowman et al. 2016, arXiv:1511.06349;
Chen et al. 2017, "Variational Lossy Autoencoder", arXiv:1611.02731).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from vae.config import ModelConfig
from vae.families import lower_size

# exp(logvar) overflows float32 above about 88; a learned log-variance is kept
# well inside that range so that extreme inputs cannot produce inf or NaN.
LOGVAR_LIMIT = 30.0


CONV_CHANNELS = (16, 32)  # the conv network's two stride-2 layers, each halving the sides
CONV_KERNEL = 4  # with stride 2 and padding 1, a side n becomes n / 2


def conv_features(config: ModelConfig) -> tuple[int, int, int]:
    """The shape (C, H / 4, W / 4) of the conv encoder's last feature map."""
    height, width = config.image_shape
    return CONV_CHANNELS[-1], height // 4, width // 4


def conv_encoder(config: ModelConfig) -> nn.Sequential:
    """Images (B, H, W) to features (B, C * H / 4 * W / 4): two stride-2 convolutions."""
    first, second = CONV_CHANNELS
    return nn.Sequential(
        nn.Unflatten(1, (1, config.image_shape[0])),
        nn.Conv2d(1, first, CONV_KERNEL, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(first, second, CONV_KERNEL, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
    )


def conv_decoder_body(config: ModelConfig) -> nn.Sequential:
    """Codes (B, D) to a feature map at half the image's sides: a linear layer to the
    encoder's last map, then one stride-2 transposed convolution."""
    first, second = CONV_CHANNELS
    shape = conv_features(config)
    return nn.Sequential(
        nn.Linear(config.latent_dim, math.prod(shape)),
        nn.ReLU(),
        nn.Unflatten(1, shape),
        nn.ConvTranspose2d(second, first, CONV_KERNEL, stride=2, padding=1),
        nn.ReLU(),
    )


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given sizes, with a ReLU after each."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """x -> (mu, logvar): a shared body and one linear head per output; with a
    full covariance, one more head for the Cholesky factor's lower triangle."""

    def __init__(self, config: ModelConfig, learn_logvar: bool) -> None:
        super().__init__()
        if config.network == "conv":
            self.body = conv_encoder(config)
            widths = [math.prod(conv_features(config))]
        else:
            widths = [config.data_dim, *config.hidden_sizes]
            self.body = mlp(widths)
        self.network = config.network
        self.mean = nn.Linear(widths[-1], config.latent_dim)
        self.logvar = nn.Linear(widths[-1], config.latent_dim) if learn_logvar else None
        self.lower = None
        if config.posterior == "full":  # starts at zero: q starts diagonal
            self.lower = nn.Linear(widths[-1], lower_size(config.latent_dim))
            nn.init.zeros_(self.lower.weight)
            nn.init.zeros_(self.lower.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The body's output h for images x: (B, H)."""
        if self.network == "conv":
            return self.body(x.reshape(-1, *x.shape[-2:]))
        return self.body(x.flatten(start_dim=1))

    def gaussian(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """mu and logvar from the features h: each (B, D)."""
        mu = self.mean(h).float()  # (B, D)
        if self.logvar is None:
            return mu, None
        return mu, self.logvar(h).float().clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.gaussian(self.features(x))


class Decoder(nn.Module):
    """z -> the parameters of p(x|z), shaped like an image."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.network == "conv":
            self.body = conv_decoder_body(config)
            first = CONV_CHANNELS[0]
            self.output = nn.ConvTranspose2d(first, 1, CONV_KERNEL, stride=2, padding=1)
        else:
            widths = [config.latent_dim, *reversed(config.hidden_sizes)]
            self.body = mlp(widths)
            self.output = nn.Linear(widths[-1], config.data_dim)
        self.image_shape = config.image_shape

    def forward(self, z: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """The outputs for codes z: (B, *image_shape). The images x are not read:
        the pixels are independent given z."""
        out = self.output(self.body(z)).float()  # (B, data_dim), or (B, 1, H, W)
        return out.reshape(-1, *self.image_shape)


class AutoregressiveDecoder(Decoder):
    r"""(z, x) -> Bernoulli logits $l_p = m_p(z) + \sum_{q<p} W_{pq} x_q$: the MLP
    decoder's logits m(z) plus a strictly lower-triangular linear map W of the
    pixels before p in raster order (the rows above p, and those to its left)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        n = config.data_dim
        # W starts at zero, so training starts from the plain decoder.
        self.context = nn.Parameter(torch.zeros(n, n))  # (P, P), read through the mask
        self.register_buffer("mask", torch.ones(n, n).tril(-1), persistent=False)

    def forward(self, z: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """The logits of the images x given codes z (teacher forcing): (B, *image_shape).

        Args:
            z: codes, (B, D).
            x: the B images, (B, *image_shape) or any shape that holds them in order.

        Raises:
            ValueError: no images x were given.
        """
        if x is None:
            raise ValueError(
                "an autoregressive decoder's logits depend on the image x, and it has no mean "
                "image E[x|z] in closed form: pass x (teacher forcing), or draw images (`sample`)"
            )
        w = self.context * self.mask  # W_pq, zero unless q < p
        context = (x.reshape(-1, len(w)) @ w.T).float()  # (B, P): sum_{q<p} W_pq x_q
        return super().forward(z) + context.view(-1, *self.image_shape)

    @torch.no_grad()
    def sample(
        self, z: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images drawn pixel by pixel in raster order, x_p ~ Bernoulli(sigmoid(l_p)),
        each logit given z and the pixels drawn before it; and those logits.

        Returns:
            The binary images and their logits, each (B, *image_shape).
        """
        m = super().forward(z).flatten(start_dim=1)  # (B, P): m(z)
        w = self.context.float() * self.mask
        u = torch.rand(m.shape, generator=generator, device=m.device)  # x_p = [u_p < sigmoid(l_p)]
        x = torch.zeros_like(m)
        logits = torch.empty_like(m)
        for p in range(m.shape[1]):
            logits[:, p] = m[:, p] + x[:, :p] @ w[p, :p]
            x[:, p] = (u[:, p] < torch.sigmoid(logits[:, p])).float()
        return x.view(-1, *self.image_shape), logits.view(-1, *self.image_shape)


def build_decoder(config: ModelConfig) -> Decoder:
    """The decoder a config names."""
    if config.decoder == "autoregressive":
        return AutoregressiveDecoder(config)
    return Decoder(config)
