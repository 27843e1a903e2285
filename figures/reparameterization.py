"""The reparameterization trick: a diagram of where the randomness sits, and the
variance of three unbiased estimators of the same gradient, measured on the
trained 2-D VAE.

The objective is the reconstruction term f = E_q[log p(x|z)] of a test digit,
q = N(mu, sigma^2) from the encoder, and the gradient is taken with respect to
mu. The reparameterized estimator averages grad_z log p(x|z) at z = mu + sigma*eps;
the score-function (REINFORCE) estimator averages (log p(x|z) - b) grad_mu log q(z),
with no baseline (b = 0) or with the baseline b = log p(x|mu), the value at the
mean code, which does not depend on the draw and so leaves the estimator unbiased.
"""

import numpy as np
import torch

from vae.data import test_inputs
from vae.site import diagram, plotting

PAGE = "autoencoders.md"
MODELS = ("vae-2d",)
SAMPLES = (1, 4, 16, 64)  # samples per gradient estimate
REPEATS = 1000  # estimates per sample size, to measure the variance
DIGIT, SEED = 0, 0
SPREAD_DIGITS = 20  # other test digits over which the one-sample ratios are compared
BOOTSTRAP = 200  # resamples of the repeats, for the spread of a measured variance
LABELS = ("reparameterized", "score function with baseline", "score function, no baseline")


def draw(f, mu, sigma, eps):
    """f and its gradient at z = mu + sigma eps: values (R, n) and gradients (R, n, D)."""
    z = (mu + sigma * eps).requires_grad_(True)
    values = f(z)
    (grad_z,) = torch.autograd.grad(values.sum(), z)
    return values.detach(), grad_z


def reparameterized_estimates(grad_z):
    """Gradient estimates of E_q[f(z)] with respect to mu: the mean over the n draws
    of grad_z f(mu + sigma eps), since dz/dmu = 1. grad_z has shape (R, n, D); returns (R, D)."""
    return grad_z.mean(dim=1)


def score_function_estimates(values, sigma, eps, baseline=0.0):
    """Gradient estimates of E_q[f(z)] with respect to mu: the mean over the n draws
    of (f(z) - baseline) grad_mu log q(z), where grad_mu log q(z) = (z - mu) / sigma^2
    = eps / sigma. values f(z) has shape (R, n), eps (R, n, D); returns (R, D)."""
    return ((values - baseline).unsqueeze(-1) * eps / sigma).mean(dim=1)


def total_variance(estimates: np.ndarray) -> float:
    """Sum over coordinates of the variance across repeats."""
    return float(np.var(estimates, axis=0).sum())


def bootstrap_se(estimates: np.ndarray, generator: np.random.Generator) -> float:
    """Standard error of `total_variance`, by resampling the repeats."""
    draws = generator.integers(0, len(estimates), (BOOTSTRAP, len(estimates)))
    return float(np.std([total_variance(estimates[i]) for i in draws]))


def log_likelihood_of(model, x):
    """f(z) = log p(x|z) for a batch of codes of shape (..., D): shape (...)."""

    def f(z):
        flat = z.reshape(-1, z.shape[-1])
        return model.log_likelihood(
            x.expand(len(flat), *x.shape[1:]), model.likelihood_params(flat)
        ).view(z.shape[:-1])

    return f


def three_estimators(model, x, n, generator):
    """REPEATS estimates of each estimator from n samples, on common noise: three (R, D) arrays."""
    with torch.no_grad():
        posterior = model.encode(x)
    mu, sigma = posterior.mu[0], torch.exp(0.5 * posterior.logvar[0])  # (D,)
    f = log_likelihood_of(model, x)
    eps = torch.randn((REPEATS, n, mu.numel()), generator=generator)
    with torch.no_grad():
        baseline = f(mu[None])  # log p(x | mu), shape (1,)
    values, grad_z = draw(f, mu, sigma, eps)
    return (
        reparameterized_estimates(grad_z).numpy(),
        score_function_estimates(values, sigma, eps, baseline).numpy(),
        score_function_estimates(values, sigma, eps).numpy(),
    )


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    run = ctx.model("vae-2d")
    x_all = test_inputs(dataset, run.config.data.binarize)
    x = x_all[DIGIT : DIGIT + 1]
    generator = torch.Generator().manual_seed(SEED)
    resampler = np.random.default_rng(SEED)
    variances = {label: [] for label in LABELS}
    errors = {label: [] for label in LABELS}
    for n in SAMPLES:
        for label, estimates in zip(
            LABELS, three_estimators(run.model, x, n, generator), strict=True
        ):
            variances[label].append(total_variance(estimates))
            errors[label].append(bootstrap_se(estimates, resampler))

    fig, ax = plotting.figure(figsize=(plotting.CONTENT_WIDTH, 4.0))
    for (label, values), marker in zip(variances.items(), ("o", "^", "s"), strict=True):
        ax.errorbar(SAMPLES, values, yerr=2 * np.array(errors[label]), marker=marker, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(SAMPLES, [str(n) for n in SAMPLES])
    ax.minorticks_off()
    ax.set_xlabel("samples per estimate")
    ax.set_ylabel("variance of the estimate")
    ax.set_ylim(top=300 * max(max(v) for v in variances.values()))  # room for the legend
    ax.legend(loc="upper right")
    plotting.check_text_size(fig)
    ctx.save("gradient-variance.svg", plotting.svg_bytes(fig))

    rep, base, plain = (variances[label][0] for label in LABELS)
    rep_se, base_se, plain_se = (errors[label][0] for label in LABELS)
    ctx.number("variance_ratio_1", plain / rep)
    # Relative standard errors add in quadrature for a ratio.
    ctx.number("variance_ratio_1_se", plain / rep * np.hypot(plain_se / plain, rep_se / rep))
    ctx.number("baseline_ratio_1", base / rep)
    ctx.number("baseline_ratio_1_se", base / rep * np.hypot(base_se / base, rep_se / rep))
    ctx.number("repeats", REPEATS)

    # The same one-sample ratios for other test digits.
    ratios = {"plain": [], "baseline": []}
    for i in range(DIGIT + 1, DIGIT + 1 + SPREAD_DIGITS):
        rep, base, plain = (
            total_variance(e) for e in three_estimators(run.model, x_all[i : i + 1], 1, generator)
        )
        ratios["plain"].append(plain / rep)
        ratios["baseline"].append(base / rep)
    ctx.number("spread_digits", SPREAD_DIGITS)
    for key, values in ratios.items():
        ctx.number(f"{key}_ratio_min", float(np.min(values)))
        ctx.number(f"{key}_ratio_max", float(np.max(values)))

    ctx.save("trick.svg", trick_diagram())


def trick_diagram() -> bytes:
    """Sampling z directly blocks the gradient; sampling eps does not."""
    fig, ax = diagram.diagram_axes(plotting.COLUMN_WIDTH, 4.6)
    green, red = plotting.GRADIENT_COLOR, plotting.LOSS_COLOR

    ax.text(0.15, 4.35, "sampling $z$ directly", ha="left", va="center", weight="bold")
    params = diagram.node(ax, 0.9, 3.65, r"$\mu,\ \sigma$", plotting.CODE_COLOR)
    z_direct = diagram.node(
        ax, 3.9, 3.65, r"$z \sim \mathcal{N}(\mu, \sigma^2)$", plotting.NOISE_COLOR
    )
    f_direct = diagram.node(ax, 6.4, 3.65, "$f(z)$", plotting.CODE_COLOR)
    diagram.arrow(ax, params, z_direct)
    diagram.arrow(ax, z_direct, f_direct)
    diagram.arrow(ax, (6.0, 3.3), (4.8, 3.3), color=green)
    ax.text(5.4, 3.18, r"$\partial f / \partial z$", color=green, ha="center", va="top")
    diagram.arrow(ax, (2.9, 3.3), (1.5, 3.3), color=red, dashed=True)
    ax.text(
        2.2,
        3.15,
        r"no $\partial z / \partial \mu$, $\partial z / \partial \sigma$",
        color=red,
        ha="center",
        va="top",
    )

    ax.plot([0.1, plotting.COLUMN_WIDTH - 0.1], [2.72, 2.72], color="#b0bec5", linewidth=1)
    ax.text(0.15, 2.45, "reparameterized", ha="left", va="center", weight="bold")
    mu = diagram.node(ax, 0.8, 1.75, r"$\mu$", plotting.CODE_COLOR)
    sigma = diagram.node(ax, 0.8, 0.45, r"$\sigma$", plotting.CODE_COLOR)
    eps = diagram.node(ax, 3.9, 2.15, r"$\epsilon \sim \mathcal{N}(0, I)$", plotting.NOISE_COLOR)
    z = diagram.node(ax, 3.9, 1.1, r"$z = \mu + \sigma\,\epsilon$", plotting.CODE_COLOR)
    f = diagram.node(ax, 6.4, 1.1, "$f(z)$", plotting.CODE_COLOR)
    diagram.arrow(ax, eps, z, dashed=True)
    diagram.arrow(ax, mu, z)
    diagram.arrow(ax, sigma, z)
    diagram.arrow(ax, z, f)
    # The gradient's path, backwards beside each forward edge: f to z, z to mu and sigma.
    diagram.arrow(ax, (6.0, 0.8), (4.8, 0.8), color=green)
    ax.text(5.4, 0.68, r"$\partial f / \partial z$", color=green, ha="center", va="top")
    diagram.arrow(ax, (3.05, 1.5), (1.45, 1.84), color=green)
    ax.text(2.3, 1.8, r"$\partial z / \partial \mu = 1$", color=green, ha="center", va="bottom")
    diagram.arrow(ax, (3.05, 0.7), (1.45, 0.36), color=green)
    ax.text(
        2.3, 0.38, r"$\partial z / \partial \sigma = \epsilon$", color=green, ha="center", va="top"
    )
    plotting.check_text_size(fig)
    return plotting.svg_bytes(fig)
