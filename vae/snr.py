r"""The signal-to-noise ratio of the gradient of the importance-weighted bound.

The gradient of $\mathcal{L}_k$ that training follows is a Monte Carlo
estimate: each step draws k codes per example. For one parameter $\theta$, its
signal-to-noise ratio over the draws of the codes, at fixed parameters and
data, is

$$\mathrm{SNR}(\theta) = \frac{|\mathbb{E}[\hat g]|}{\mathrm{sd}[\hat g]}.$$

Rainforth et al. (2018) show that as k grows the decoder's SNR rises like
$\sqrt{k}$ while the encoder's falls like $1/\sqrt{k}$: the bound gets tighter
but the encoder's gradient drowns in its noise, because $\nabla_\phi
\mathcal{L}_k$ itself shrinks towards zero faster than its spread does.
`gradient_snr` measures both on a trained model.

Reference:
    Rainforth, Kosiorek, Le, Maddison, Igl, Wood & Teh (2018), "Tighter
    Variational Bounds are Not Necessarily Better", ICML, arXiv:1802.04537.
"""

from __future__ import annotations

import torch

from vae.losses import iwae_loss
from vae.models import LatentModel


def gradient_samples(
    model: LatentModel, x: torch.Tensor, k: int, repeats: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    r"""`repeats` independent estimates of the gradient of the batch's mean
    $\mathcal{L}_k$ (minus the IWAE loss), for the encoder's and the decoder's
    parameters: {"encoder": (repeats, P_enc), "decoder": (repeats, P_dec)}."""
    groups = {
        "encoder": list(model.encoder.parameters()),
        "decoder": list(model.decoder.parameters()),
    }
    params = [p for group in groups.values() for p in group]
    samples: list[torch.Tensor] = []
    for _ in range(repeats):
        loss = iwae_loss(model, x, k, generator).loss
        grads = torch.autograd.grad(loss, params)
        samples.append(torch.cat([-g.reshape(-1) for g in grads]))
    flat = torch.stack(samples).double()
    sizes = [sum(p.numel() for p in group) for group in groups.values()]
    return dict(zip(groups, flat.split(sizes, dim=1), strict=True))


def snr(samples: torch.Tensor) -> torch.Tensor:
    r"""The SNR of each column of (repeats, P) gradient samples, over the columns
    whose samples vary (a parameter that no draw moves, such as a weight of a unit
    that is never active, has no SNR).

    The plain ratio |mean| / sd has a floor: with R draws of a gradient whose
    expectation is zero, |mean| is still about sd / sqrt(R). The square of the
    mean is corrected for that, since $\mathbb{E}[\bar g^2] = \mu^2 + \sigma^2 / R$:

    $$\widehat{\mathrm{SNR}} = \frac{\sqrt{\max(0,\ \bar g^2 - s^2 / R)}}{s}.$$
    """
    repeats = samples.shape[0]
    if repeats < 2:
        raise ValueError("an SNR needs at least two gradient samples")
    var = samples.var(dim=0)
    varies = var > 0
    mean, var = samples.mean(dim=0)[varies], var[varies]
    return (mean.square() - var / repeats).clamp(min=0).sqrt() / var.sqrt()


def gradient_snr(
    model: LatentModel, x: torch.Tensor, k: int, repeats: int = 100, seed: int = 0
) -> dict[str, float]:
    r"""The mean over parameters of the SNR of the encoder's and of the decoder's
    gradient of $\mathcal{L}_k$ on the batch x: {"encoder": …, "decoder": …}.

    The mean, not the median: once more than half of a network's parameters
    have no signal the draws can detect, their median is zero.

    Args:
        model: a model with a density q(z|x) (the VAE and its variants).
        x: a batch of inputs, shape (B, *image_shape).
        k: importance samples per example.
        repeats: independent gradient estimates the SNR is taken over.
        seed: seeds the draws of the codes.
    """
    generator = torch.Generator(device=x.device).manual_seed(seed)
    samples = gradient_samples(model, x, k, repeats, generator)
    return {name: float(snr(s).mean()) for name, s in samples.items()}
