"""Log-likelihoods, the Gaussian KL divergence, the ELBO and the IWAE bound.

Pure functions of tensors: nothing here knows about models, data or training.
Every function returns one value per example, summed over the data or latent
dimensions (except `gaussian_kl_per_dimension`, which keeps the latent
dimensions apart); the trainer averages over the batch. That convention is the only
one used in this package:

    loss = mean over the batch of  -( log p(x|z) - beta * KL(q(z|x) || p(z)) )

References:
    Kingma & Welling (2013), "Auto-Encoding Variational Bayes", arXiv:1312.6114.
    Burda, Grosse & Salakhutdinov (2015), "Importance Weighted Autoencoders",
    arXiv:1509.00519.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)


def _sum_event(t: torch.Tensor, event_dims: int) -> torch.Tensor:
    """Sums the last `event_dims` dimensions (those of one example)."""
    return t.sum(dim=tuple(range(-event_dims, 0))) if event_dims else t


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r"""log p(x | logits) for independent Bernoulli pixels, summed per example.

    $\log p(x) = \sum_i x_i \log \sigma(l_i) + (1 - x_i) \log(1 - \sigma(l_i))
    = \sum_i x_i l_i - \operatorname{softplus}(l_i)$: two passes over the logits,
    finite for any logit. For gray-level x in (0, 1) this is minus the "binary
    cross-entropy" of the PyTorch VAE example, which is not a normalised
    likelihood of continuous data.

    Args:
        x: targets in [0, 1], shape (B, ...).
        logits: decoder outputs, shape (..., B, ...): any leading dimensions
            (k codes per example, say) broadcast against x.

    Returns:
        Tensor of shape logits.shape[: logits.dim() - x.dim() + 1]: (B,) for
        logits shaped like x.
    """
    event = x.dim() - 1
    return _sum_event(x * logits, event) - _sum_event(F.softplus(logits), event)


def gaussian_log_density(
    x: torch.Tensor,
    mean: torch.Tensor | float = 0.0,
    logvar: torch.Tensor | float = 0.0,
    event_dims: int = 1,
) -> torch.Tensor:
    r"""log N(x; mean, diag(exp(logvar))), summed over the last `event_dims` dimensions.

    $\log p(x) = -\tfrac12 \sum_i [\log 2\pi + \log\sigma_i^2
    + (x_i - \mu_i)^2 / \sigma_i^2]$. The one Gaussian log density of the
    package: with the defaults it is the standard normal N(0, I), the prior p(z);
    with a code's mean and log-variance it is q(z|x); with
    `event_dims=x.dim() - 1` and a decoder's means it is the likelihood of
    Gaussian pixels.

    Args:
        x: points, shape (..., *event): codes (B, D), or images (B, H, W).
        mean: means, a tensor broadcastable against x (either may carry extra
            leading dimensions, k samples per example, say) or a float.
        logvar: log-variances, a tensor broadcastable against x or a float.
        event_dims: trailing dimensions of x that make up one point.

    Returns:
        Tensor of the broadcast shape without its last `event_dims` dimensions:
        (B,) for codes (B, D).
    """
    if not isinstance(logvar, torch.Tensor):
        logvar = torch.as_tensor(logvar, dtype=x.dtype, device=x.device)
    log_density = -0.5 * (LOG_2PI + logvar + (x - mean).square() * torch.exp(-logvar))
    return _sum_event(log_density, event_dims)


# Earlier names of `gaussian_log_density`, still used by figures/elbo_gap.py (on
# rows of pixels, where one point is the last dimension) and tests/test_explorer.py.
gaussian_log_likelihood = gaussian_log_density
standard_normal_log_density = gaussian_log_density


def gaussian_kl_per_dimension(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    prior_mu: torch.Tensor | float = 0.0,
    prior_logvar: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    r"""KL(N(mu_j, e^logvar_j) || N(prior_mu_j, e^prior_logvar_j)) for each coordinate j.

    With the standard normal prior this is
    $\tfrac12 (\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)$.

    Args:
        mu: means of q, shape (B, D).
        logvar: log-variances of q, shape (B, D).
        prior_mu: mean of the prior, broadcastable to mu.
        prior_logvar: log-variance of the prior, broadcastable to mu.

    Returns:
        Tensor of shape (B, D), always >= 0 up to rounding.
    """
    prior_mu = torch.as_tensor(prior_mu, dtype=mu.dtype, device=mu.device)
    prior_logvar = torch.as_tensor(prior_logvar, dtype=mu.dtype, device=mu.device)
    # 1/2 [ log(s_p^2/s_q^2) + (s_q^2 + (m_q - m_p)^2) / s_p^2 - 1 ]
    return 0.5 * (
        prior_logvar
        - logvar
        + (torch.exp(logvar) + (mu - prior_mu).square()) * torch.exp(-prior_logvar)
        - 1.0
    )


def gaussian_kl(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    prior_mu: torch.Tensor | float = 0.0,
    prior_logvar: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    r"""KL(N(mu, diag e^logvar) || N(prior_mu, diag e^prior_logvar)), analytic.

    The coordinates are independent, so the divergence is the sum of the
    per-coordinate ones; with the standard normal prior it is the familiar
    $\tfrac12 \sum_j (\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)$.
    Arguments as for `gaussian_kl_per_dimension`; returns shape (B,), >= 0 up to rounding.
    """
    return gaussian_kl_per_dimension(mu, logvar, prior_mu, prior_logvar).sum(dim=-1)


def free_bits_kl(kl_per_dimension: torch.Tensor, free_bits: float) -> torch.Tensor:
    r"""The KL term with free bits, $\lambda$ nats at least per latent dimension j:

    $$\sum_j \max\big(\lambda, \tfrac1B \textstyle\sum_b \mathrm{KL}_{bj}\big).$$

    Each latent dimension's KL, averaged over the batch, counts as at least
    lambda nats, so below lambda it has no gradient and the encoder may use
    those nats for free: a dimension is not pushed all the way to the prior
    (posterior collapse). Kingma, Salimans, Jozefowicz, Chen, Sutskever &
    Welling (2016), "Improved Variational Inference with Inverse Autoregressive
    Flow", arXiv:1606.04934, appendix C.8. Unlike every other function here it
    is a batch mean, not a value per example: the floor is on the mean.

    Args:
        kl_per_dimension: KL(q(z_j|x_b) || p(z_j)), shape (B, D).
        free_bits: lambda, in nats per dimension.

    Returns:
        A scalar tensor: what replaces the batch mean of the KL in the loss.
    """
    return kl_per_dimension.mean(dim=0).clamp(min=free_bits).sum()


def optimal_sigma(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    r"""The one sigma that maximises the Gaussian likelihood of x given the means.

    Over N pixels, $\sum_i \log N(x_i; m_i, \sigma^2)$ has
    $\partial/\partial\sigma = -N/\sigma + \sum_i (x_i - m_i)^2 / \sigma^3$, zero at
    $\sigma^2 = \frac1N \sum_i (x_i - m_i)^2$: the root mean squared error. It is
    the "optimal sigma" of Rybkin, Daniilidis & Levine (2021), "Simple and
    Effective VAE Training with Calibrated Decoders", arXiv:2006.13202, which a
    learned shared sigma (likelihood "gaussian-learned") moves towards.

    Args:
        x: pixels, any shape.
        mean: the decoder's means, broadcastable against x.

    Returns:
        A scalar tensor.
    """
    return (x - mean).square().mean().sqrt()


def elbo(log_px_given_z: torch.Tensor, kl: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    r"""The (beta-weighted) evidence lower bound, per example.

    $\mathrm{ELBO} = \mathbb{E}_q[\log p(x|z)] - \beta\,\mathrm{KL}(q(z|x) \| p(z))$.
    With beta = 1 it is a lower bound on log p(x).

    Args:
        log_px_given_z: one-sample estimate of E_q[log p(x|z)], shape (B,).
        kl: KL(q(z|x) || p(z)), shape (B,).
        beta: weight on the KL term.

    Returns:
        Tensor of shape (B,).
    """
    return log_px_given_z - beta * kl


def iwae_bound(log_weights: torch.Tensor) -> torch.Tensor:
    r"""The importance-weighted bound from k samples, per example.

    $\mathcal{L}_k = \log \frac{1}{k} \sum_{i=1}^k w_i$ with
    $\log w_i = \log p(x, z_i) - \log q(z_i | x)$, $z_i \sim q(z|x)$.
    $\mathcal{L}_1$ is the ELBO, and $\mathcal{L}_k$ rises towards log p(x) as k grows.

    Args:
        log_weights: shape (k, B).

    Returns:
        Tensor of shape (B,).
    """
    # --8<-- [start:iwae_bound_lines]
    k = log_weights.shape[0]  # log_weights: (k, B), log w_i of k codes per image
    return torch.logsumexp(log_weights, dim=0) - math.log(k)
    # --8<-- [end:iwae_bound_lines]


def mean_iwae_bound(log_weights: torch.Tensor, k: int) -> torch.Tensor:
    """L_k per example, averaged over the disjoint blocks of k of its log-weights.

    Args:
        log_weights: shape (K, B), K a multiple of k.
        k: samples per bound.

    Returns:
        Tensor of shape (B,): the mean of K / k independent draws of L_k.
    """
    n = log_weights.shape[1]
    blocks = log_weights.reshape(-1, k, n).transpose(0, 1).reshape(k, -1)  # (k, K / k * B)
    return iwae_bound(blocks).view(-1, n).mean(0)
