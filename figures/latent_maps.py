"""The 2-D latent maps of the autoencoder, the noisy autoencoder and the VAE:
the test digits placed at the mean of q(z|x), coloured by class, with the
prior's 1-sigma and 2-sigma circles. One map per model, and the three side by
side on shared axes."""

import numpy as np
import torch

from vae.data import test_inputs
from vae.site import plotting

PAGE = "autoencoders.md"
MODELS = ("ae-2d", "noisy-ae-2d-sigma-0.2", "vae-2d")
TITLES = {
    "ae-2d": "autoencoder",
    "noisy-ae-2d-sigma-0.2": "noisy autoencoder",
    "vae-2d": "VAE",
}
SINGLE = ("ae-2d", "vae-2d")  # the models that also get a map of their own
RADIUS_QUANTILE = 0.99  # the share of codes inside the quoted radius


def posterior(ctx, name, dataset):
    """mu and sigma of q(z|x) for the test digits, as arrays (sigma is 0 for the autoencoder)."""
    run = ctx.model(name)
    x = test_inputs(dataset, run.config.data.binarize)
    with torch.no_grad():
        mu, logvar = run.model.encode(x)
    sigma = np.zeros_like(mu.numpy()) if logvar is None else torch.exp(0.5 * logvar).numpy()
    return mu.numpy(), sigma


def make(ctx):
    dataset = ctx.dataset("mnist5k")
    labels = dataset.test_labels.numpy()
    posteriors = {name: posterior(ctx, name, dataset) for name in TITLES}

    for name in SINGLE:
        mu, _ = posteriors[name]
        fig, ax = plotting.figure(figsize=(5.0, 5.6))
        plotting.latent_scatter(ax, mu, labels, TITLES[name], plotting.map_limit(mu, quantile=1))
        plotting.prior_circles(ax)
        plotting.class_legend(fig, dataset.class_names)
        plotting.check_text_size(fig)
        ctx.save(f"{name}.svg", plotting.svg_bytes(fig))

    for name, (mu, sigma) in posteriors.items():
        key = name.replace("-", "_").replace(".", "_")
        # The variance of the cloud of all codes, per coordinate, is the variance of
        # the means plus the mean variance around them (the law of total variance).
        ctx.number(f"{key}_means_sd", float(np.sqrt(np.mean(mu.var(axis=0)))))
        ctx.number(f"{key}_noise_sd", float(np.sqrt(np.mean(sigma**2))))
        ctx.number(f"{key}_total_sd", float(np.sqrt(np.mean(mu.var(axis=0) + (sigma**2).mean(0)))))
        radius = np.quantile(np.linalg.norm(mu, axis=1), RADIUS_QUANTILE)
        ctx.number(f"{key}_radius", float(radius))

    limit = plotting.map_limit(*(mu for mu, _ in posteriors.values()), quantile=1)
    fig, axes = plotting.figure(
        1, 3, figsize=(plotting.CONTENT_WIDTH, 3.7), sharex=True, sharey=True
    )
    for ax, (name, (mu, _)) in zip(axes, posteriors.items(), strict=True):
        plotting.latent_scatter(ax, mu, labels, TITLES[name], limit)
        plotting.prior_circles(ax, label=False)
        if ax is not axes[0]:
            ax.set_ylabel("")
    plotting.class_legend(fig, dataset.class_names)
    plotting.check_text_size(fig)
    ctx.save("side-by-side.svg", plotting.svg_bytes(fig))

    config = ctx.model("vae-2d").config
    ctx.number("test_examples", len(labels))
    ctx.number("train_examples", len(dataset.train_labels))
    ctx.number("all_examples", len(dataset.train_labels) + len(labels))
    ctx.number("epochs", config.train.epochs)
    ctx.number("hidden_units", config.model.hidden_sizes[0])
    ctx.number("latent_dim", config.model.latent_dim)
    ctx.number("pixels", config.model.data_dim)
    ctx.number("radius_percent", round(100 * RADIUS_QUANTILE))
    ctx.number("noisy_sigma", ctx.model("noisy-ae-2d-sigma-0.2").config.model.noise_sigma)
