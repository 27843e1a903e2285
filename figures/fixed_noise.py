"""The noisy autoencoder at several fixed noise levels sigma_0: where it puts
the test digits, and what it decodes from codes drawn from the prior.

q(z|x) = N(mu(x), sigma_0^2 I) with sigma_0 fixed, so KL(q(z|x) || N(0, I)) is
||mu||^2 / 2 plus a constant: an L2 penalty on the code. Small sigma_0 leaves
sharp, separate codes in a small part of the prior; sigma_0 = 1 makes the clouds
of different digits overlap.
"""

import math

import numpy as np
import torch

from vae.data import test_inputs
from vae.site import plotting
from vae.site.experiments import NOISE_SIGMAS, noise_name

PAGE = "autoencoders.md"
MODELS = ("noisy-ae-2d-sigma-0.05", "noisy-ae-2d-sigma-0.2", "noisy-ae-2d")
SIDE, SEED = 4, 0  # a SIDE x SIDE grid of prior samples per model, on the same codes
DENSITY_POINTS = 161  # grid points per axis for the density of q(z)


def mixture_density(points: torch.Tensor, mu: torch.Tensor, sigma: float) -> np.ndarray:
    """q(z) = mean_n N(z; mu_n, sigma^2 I) at points (P, 2)."""
    squared = torch.cdist(points.double(), mu.double()).square()  # (P, N)
    log_q = -squared / (2 * sigma**2) - math.log(2 * math.pi * sigma**2)
    return (torch.logsumexp(log_q, dim=1) - math.log(mu.shape[0])).exp().numpy()


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels.numpy()
    codes = {}
    for sigma in NOISE_SIGMAS:
        run = ctx.model(noise_name(sigma))
        with torch.no_grad():
            codes[sigma] = run.model.encode(test_inputs(dataset, run.config.data.binarize)).mu

    limit = plotting.map_limit(*(mu.numpy() for mu in codes.values()))
    axis = torch.linspace(-limit, limit, DENSITY_POINTS)
    z2, z1 = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    z_prior = torch.randn((SIDE * SIDE, 2), generator=torch.Generator().manual_seed(SEED))

    fig, axes = plotting.figure(
        2, 3, figsize=(plotting.CONTENT_WIDTH, 6.0), height_ratios=(1, 1.05)
    )
    for column, sigma in enumerate(NOISE_SIGMAS):
        mu = codes[sigma]
        ax = axes[0, column]
        density = mixture_density(grid, mu, sigma).reshape(DENSITY_POINTS, DENSITY_POINTS)
        ax.imshow(
            density,
            origin="lower",
            extent=(-limit, limit, -limit, limit),
            cmap="Greys",
            vmin=0,
            vmax=float(np.quantile(density, 0.995)),
            alpha=0.6,
        )
        plotting.latent_scatter(ax, mu.numpy(), labels, rf"$\sigma_0 = {sigma:g}$", limit)
        plotting.prior_circles(ax, label=False)
        if column:
            ax.set_ylabel("")
            ax.set_yticklabels([])

        run = ctx.model(noise_name(sigma))
        with torch.no_grad():
            samples = run.model.decode_mean(z_prior).numpy()
        plotting.digits(axes[1, column], samples, SIDE)

        key = f"sigma_{sigma:g}".replace(".", "_")
        z = mu.numpy()
        distances = np.linalg.norm(z[:, None] - z[None], axis=-1)
        np.fill_diagonal(distances, np.inf)
        # How many noise widths separate a code from its nearest neighbour.
        ctx.number(f"{key}_neighbour_gap", float(np.median(distances.min(axis=1)) / sigma))
        ctx.number(f"{key}_means_rms", float(np.sqrt((z**2).sum(axis=1).mean())))
        # KL(N(mu, sigma_0^2 I) || N(0, I)) = ||mu||^2 / 2 + D (sigma_0^2 - 1 - log sigma_0^2) / 2.
        ctx.number(f"{key}_kl_constant", z.shape[1] * (sigma**2 - 1 - math.log(sigma**2)) / 2)
        ctx.number(f"{key}_sigma", sigma)
    axes[1, 0].set_title("decoded from $z \\sim \\mathcal{N}(0, I)$", loc="left", pad=14)
    fig.get_layout_engine().set(h_pad=0.1)
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("sigmas.svg", plotting.svg_bytes(fig))
    ctx.number("samples", SIDE * SIDE)
    ctx.number("models", len(NOISE_SIGMAS))
