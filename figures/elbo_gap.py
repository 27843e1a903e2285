"""log p(x) = ELBO + KL(q(z|x) || p(z|x)), shown on a linear-Gaussian model
where every term is exact: p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I).

The columns of W are orthogonal, so the true posterior is a Gaussian with
diagonal covariance, inside the family q belongs to. q starts far from it and
moves along a straight line in (mean, log-variance) to it; the ELBO rises to
log p(x) and the KL to the posterior falls to zero.
"""

import math

import numpy as np
import torch
from torch import distributions as D

from vae import objectives
from vae.site import plotting

PAGE = "variational-inference.md"
LATENT, DATA, NOISE_STD, SEED = 2, 5, 0.5, 0


def make(ctx):
    g = torch.Generator().manual_seed(SEED)
    f64 = {"generator": g, "dtype": torch.float64}
    q, _ = torch.linalg.qr(torch.randn(DATA, LATENT, **f64))
    W = q * torch.tensor([2.0, 0.8], dtype=torch.float64)  # orthogonal columns
    b = torch.randn(DATA, **f64)
    noise_var = NOISE_STD**2
    noise_logvar = math.log(noise_var)
    x = (W @ torch.randn(LATENT, **f64) + b).unsqueeze(0)

    cov = W @ W.T + noise_var * torch.eye(DATA, dtype=torch.float64)
    log_px = D.MultivariateNormal(b, cov).log_prob(x).item()
    precision = 1 + (W**2).sum(0) / noise_var  # posterior precision, diagonal
    post_logvar = -torch.log(precision).unsqueeze(0)
    post_mu = torch.exp(post_logvar) * ((x - b) @ W) / noise_var

    # q starts at the prior.
    start_mu = torch.zeros_like(post_mu)
    start_logvar = torch.zeros_like(post_logvar)
    ts = np.linspace(0, 1, 41)
    elbos, kls = [], []
    for t in ts:
        mu = (1 - t) * start_mu + t * post_mu
        logvar = (1 - t) * start_logvar + t * post_logvar
        # E_q[log p(x|z)] in closed form: the likelihood at the mean, minus
        # the spread of Wz under q.
        x_mean = mu @ W.T + b
        at_mean = objectives.gaussian_log_density(x, x_mean, noise_logvar)
        spread = ((W**2).sum(0) * torch.exp(logvar)).sum(-1) / noise_var
        expected_rec = at_mean - 0.5 * spread
        prior_kl = objectives.gaussian_kl(mu, logvar)
        elbos.append(objectives.elbo(expected_rec, prior_kl).item())
        kl = objectives.gaussian_kl(mu, logvar, post_mu, post_logvar)
        kls.append(kl.item())

    fig, ax = plotting.figure(figsize=(5.6, 3.6))
    ax.axhline(log_px, color="black", linewidth=1, label=r"$\log p(x)$ (exact)")
    ax.plot(ts, elbos, label="ELBO")
    gap = r"gap $= \mathrm{KL}(q \,\|\, p(z \mid x))$"
    ax.fill_between(ts, elbos, log_px, alpha=0.2, label=gap)
    ax.set_xlabel(r"$t$: $q$ moves from the prior ($t = 0$) to the posterior")
    ax.set_ylabel("nats")
    ax.legend(loc="lower right")
    plotting.check_text_size(fig)
    ctx.save("gap.svg", plotting.svg_bytes(fig))

    ctx.number("log_px", log_px)
    ctx.number("elbo_start", elbos[0])
    ctx.number("gap_start", log_px - elbos[0])
    ctx.number("kl_start", kls[0])
    ctx.number("gap_end", abs(log_px - elbos[-1]))
    identity_error = np.abs(np.array(elbos) + np.array(kls) - log_px)
    ctx.number("largest_identity_error", float(identity_error.max()))
