"""The reparameterization trick: a diagram of where the randomness sits, and the
variance of two unbiased estimators of the same gradient, measured on the
trained 2-D VAE.

The objective is the reconstruction term E_q[log p(x|z)] of one test digit,
q = N(mu, sigma^2) from the encoder, and the gradient is taken with respect to
mu. The reparameterized estimator averages grad_z log p(x|z) at z = mu + sigma*eps;
the score-function (REINFORCE) estimator averages log p(x|z) * grad_mu log q(z).
"""

import numpy as np
import torch

from vae.data import test_inputs
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("vae-2d",)
SAMPLES = (1, 4, 16, 64, 256)  # samples per gradient estimate
REPEATS = 200  # estimates per sample size, to measure the variance
DIGIT, SEED = 0, 0


def estimators(model, x, n, generator):
    """REPEATS estimates of d/dmu E_q[log p(x|z)], each from n samples: two (R, D) arrays."""
    with torch.no_grad():
        posterior = model.encode(x)
    mu, sigma = posterior.mu[0], torch.exp(0.5 * posterior.logvar[0])  # (D,)
    eps = torch.randn((REPEATS, n, mu.numel()), generator=generator)
    z = (mu + sigma * eps).requires_grad_(True)  # (R, n, D)
    x_rep = x.expand(REPEATS * n, *x.shape[1:])
    log_px = model.log_likelihood(x_rep, model.likelihood_params(z.reshape(-1, mu.numel())))
    (grad_z,) = torch.autograd.grad(log_px.sum(), z)
    log_px = log_px.detach().view(REPEATS, n, 1)
    reparameterized = grad_z.mean(dim=1)  # d f(mu + sigma eps) / d mu = grad_z f
    score = (log_px * (z.detach() - mu) / sigma**2).mean(dim=1)  # f(z) grad_mu log q(z)
    return reparameterized.numpy(), score.numpy()


def total_variance(estimates):
    """Sum over coordinates of the variance across repeats."""
    return float(np.var(estimates, axis=0).sum())


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    run = ctx.model("vae-2d")
    x = test_inputs(dataset, run.config.data.binarize)[DIGIT : DIGIT + 1]
    generator = torch.Generator().manual_seed(SEED)
    variances = {"reparameterized": [], "score function": []}
    for n in SAMPLES:
        rep, score = estimators(run.model, x, n, generator)
        variances["reparameterized"].append(total_variance(rep))
        variances["score function"].append(total_variance(score))

    fig, ax = plotting.figure(figsize=(5.2, 3.6))
    for (label, values), marker in zip(variances.items(), ("o", "s"), strict=True):
        ax.loglog(SAMPLES, values, marker=marker, label=label)
    ax.set_xlabel("samples per estimate")
    ax.set_ylabel("variance of the gradient estimate")
    ax.set_title(r"$\nabla_\mu\, \mathbb{E}_{q}[\log p(x \mid z)]$ for one test digit")
    ax.legend()
    ctx.save("gradient-variance.svg", plotting.svg_bytes(fig))

    ratio = variances["score function"][0] / variances["reparameterized"][0]
    ctx.number("variance_ratio_1", ratio)
    ctx.number("variance_reparameterized_1", variances["reparameterized"][0])
    ctx.number("variance_score_1", variances["score function"][0])
    ctx.number("repeats", REPEATS)
    ctx.number("max_samples", SAMPLES[-1])

    # The diagram: sampling z directly blocks the gradient; sampling eps does not.
    fig, ax = plotting.diagram_axes(9.0, 2.8)
    ax.text(2.2, 2.55, "sampling $z$ directly", ha="center", fontsize=11, weight="bold")
    plotting.node(ax, 1.0, 1.5, r"$\mu, \sigma$", plotting.CODE_COLOR)
    plotting.node(ax, 3.3, 1.5, r"$z \sim \mathcal{N}(\mu, \sigma^2)$", plotting.NOISE_COLOR)
    plotting.arrow(ax, (1.45, 1.5), (2.35, 1.5))
    plotting.arrow(
        ax,
        (2.35, 1.1),
        (1.45, 1.1),
        r"no $\partial z / \partial \mu$",
        color=plotting.LOSS_COLOR,
        dashed=True,
    )
    ax.text(6.7, 2.55, "reparameterized", ha="center", fontsize=11, weight="bold")
    plotting.node(ax, 5.4, 1.9, r"$\mu, \sigma$", plotting.CODE_COLOR)
    plotting.node(ax, 5.4, 0.7, r"$\epsilon \sim \mathcal{N}(0, I)$", plotting.NOISE_COLOR)
    plotting.node(ax, 7.7, 1.5, r"$z = \mu + \sigma\,\epsilon$", plotting.CODE_COLOR)
    plotting.arrow(ax, (5.85, 1.85), (6.85, 1.6))
    plotting.arrow(ax, (6.2, 0.75), (6.85, 1.35), dashed=True)
    plotting.arrow(
        ax, (6.85, 1.95), (5.85, 2.15), r"$\partial z / \partial \mu = 1$", color="#1b5e20"
    )
    ctx.save("trick.svg", plotting.svg_bytes(fig))
