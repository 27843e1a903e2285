r"""Affine coupling layers conditioned on x: the normalizing flow of a richer q(z|x).

A flow turns a simple density into a richer one by an invertible map, and
keeps the density exact by the change of variables (Rezende & Mohamed 2015,
"Variational Inference with Normalizing Flows", arXiv:1505.05770):
$\log q(z) = \log q_0(z_0) - \log |\det \partial z / \partial z_0|$.

Each layer here is an affine coupling layer (Dinh, Sohl-Dickstein & Bengio
2017, "Density estimation using Real NVP", arXiv:1605.08803). A fixed mask
keeps some coordinates, $z_a$, and moves the others:

$$z'_b = z_b \, e^{s(z_a, h)} + t(z_a, h), \qquad \log |\det| = \textstyle\sum_b s(z_a, h),$$

where h are the encoder's features of x, so the shape of q changes with x (the
flow is amortized). Successive layers alternate the mask. The inverse is exact,
$z_b = (z'_b - t)\, e^{-s}$ with s and t computed from $z'_a = z_a$, which is
why coupling layers and not planar ones: log q(z|x) can then be evaluated at
any z, as the grid of `vae.exact` and importance sampling need, where a planar
layer has no inverse in closed form.

The scales are bounded, $s = \tanh(\cdot)$, and the last linear layer of every
layer starts at zero, so an untrained flow is the identity and a model with it
starts as the plain VAE.
"""

from __future__ import annotations

import torch
from torch import nn

COUPLING_WIDTH = 64  # hidden units of the network that gives each layer's s and t


def _full(t: torch.Tensor) -> torch.Tensor:
    """A linear layer's output in float32 (or float64), even when autocast made it bfloat16."""
    return t.to(torch.promote_types(t.dtype, torch.float32))


class AffineCoupling(nn.Module):
    """One coupling layer: the coordinates where `mask` is 1 set the scale and
    shift of the others, with the features of x."""

    def __init__(self, dim: int, features: int, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask.float(), persistent=False)  # (D,) 1: kept
        self.code = nn.Linear(dim, COUPLING_WIDTH)  # z_a -> hidden
        self.context = nn.Linear(features, COUPLING_WIDTH, bias=False)  # h(x) -> hidden
        self.out = nn.Linear(COUPLING_WIDTH, 2 * dim)  # hidden -> (s, t)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def condition(self, h: torch.Tensor) -> torch.Tensor:
        """The part of the hidden layer that depends on x alone, once per example: (B, W)."""
        return _full(self.context(h))

    def scale_shift(
        self, z: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """s and t for codes z (..., B, D), zero on the kept coordinates."""
        hidden = torch.relu(self.code(z * self.mask) + context)  # (..., B, W)
        s, t = _full(self.out(hidden)).chunk(2, dim=-1)
        moved = 1 - self.mask
        return torch.tanh(s) * moved, t * moved

    def forward(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z' and log |det dz'/dz|: shapes (..., B, D) and (..., B)."""
        s, t = self.scale_shift(z, context)
        return z * torch.exp(s) + t, s.sum(dim=-1)

    def inverse(self, y: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z and log |det dz/dz'| for z' = y: the kept coordinates of y are those of z."""
        s, t = self.scale_shift(y, context)
        return (y - t) * torch.exp(-s), -s.sum(dim=-1)


class CouplingFlow(nn.Module):
    """`layers` coupling layers with alternating masks, conditioned on the encoder's features."""

    def __init__(self, dim: int, features: int, layers: int) -> None:
        super().__init__()
        coordinates = torch.arange(dim)
        self.layers = nn.ModuleList(
            AffineCoupling(dim, features, (coordinates + i) % 2) for i in range(layers)
        )

    def condition(self, h: torch.Tensor) -> torch.Tensor:
        """Each layer's context from the features h (B, H) of x: (layers, B, W)."""
        return torch.stack([layer.condition(h) for layer in self.layers])

    def forward(self, z0: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = f(z0) and log |det dz/dz0| for z0 of shape (..., B, D)."""
        z, log_det = z0, z0.new_zeros(z0.shape[:-1])
        for layer, c in zip(self.layers, context, strict=True):
            z, layer_log_det = layer(z, c)
            log_det = log_det + layer_log_det
        return z, log_det

    def inverse(self, z: torch.Tensor, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z0 = f^-1(z) and log |det dz0/dz| for z of shape (..., B, D)."""
        log_det = z.new_zeros(z.shape[:-1])
        for layer, c in zip(reversed(self.layers), context.flip(0), strict=True):
            z, layer_log_det = layer.inverse(z, c)
            log_det = log_det + layer_log_det
        return z, log_det
