"""The networks every model shares: a multilayer-perceptron encoder and a
decoder that mirrors it.

The encoder's body turns an image into features h; linear heads turn h into
the mean and log-variance of q(z|x), and, for a full covariance, the entries
below the diagonal of its Cholesky factor (`vae.families.FullCovariance`).
Both networks return float32 even when their linear layers run in bfloat16
under `torch.autocast`, so that every likelihood, KL and sum is computed in
float32.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from vae.config import ModelConfig
from vae.families import lower_size

# exp(logvar) overflows float32 above about 88; a learned log-variance is kept
# well inside that range so that extreme inputs cannot produce inf or NaN.
LOGVAR_LIMIT = 30.0


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
        widths = [config.data_dim, *config.hidden_sizes]
        self.body = mlp(widths)
        self.mean = nn.Linear(widths[-1], config.latent_dim)
        self.logvar = nn.Linear(widths[-1], config.latent_dim) if learn_logvar else None
        self.lower = None
        if config.posterior == "full":  # starts at zero: q starts diagonal
            self.lower = nn.Linear(widths[-1], lower_size(config.latent_dim))
            nn.init.zeros_(self.lower.weight)
            nn.init.zeros_(self.lower.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The body's output h for images x: (B, H)."""
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
        widths = [config.latent_dim, *reversed(config.hidden_sizes)]
        self.body = mlp(widths)
        self.output = nn.Linear(widths[-1], config.data_dim)
        self.image_shape = config.image_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.output(self.body(z)).float()  # (B, data_dim)
        return out.view(-1, *self.image_shape)
